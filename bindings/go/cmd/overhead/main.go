// Command overhead measures allocate+free from Go against the same loop in
// C, on the same pool, in one process, and prints medians and the ratio; a
// second line per pool does the same with checked blocks (AllocateBlock and
// Block.Free).
//
//	go run ./cmd/overhead [-runs 9] [-pairs 1000000]
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	mempool "github.com/mempool-project/mempool/bindings/go"
	"github.com/mempool-project/mempool/bindings/go/internal/benchc"
)

func goPairs(p *mempool.Pool, size uint64, n int) float64 {
	t0 := time.Now()
	for i := 0; i < n; i++ {
		ptr, _ := p.Allocate(size)
		p.Deallocate(ptr)
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

func blockPairs(p *mempool.Pool, size uint64, n int) float64 {
	t0 := time.Now()
	for i := 0; i < n; i++ {
		b, _ := p.AllocateBlock(size)
		b.Free()
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func main() {
	runs := flag.Int("runs", 9, "runs per side; the median is reported")
	pairs := flag.Int("pairs", 1000000, "allocate+free pairs per run")
	flag.Parse()
	fixed, _ := mempool.FixedSizeCPU(64)
	variable, _ := mempool.DefaultCPU()
	for _, c := range []struct {
		name string
		cfg  mempool.Config
	}{{"fixed 64 B", fixed}, {"variable 64 B", variable}} {
		p, err := mempool.NewPool("bench", mempool.CPU, c.cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		goPairs(p, 64, *pairs)
		benchc.CPairs(p.Handle(), 64, *pairs)
		blockPairs(p, 64, *pairs)
		tg, tc, tb := make([]float64, *runs), make([]float64, *runs), make([]float64, *runs)
		for r := 0; r < *runs; r++ {
			tg[r] = goPairs(p, 64, *pairs)
			tc[r] = benchc.CPairs(p.Handle(), 64, *pairs)
			tb[r] = blockPairs(p, 64, *pairs)
		}
		g, cc, b := median(tg), median(tc), median(tb)
		if cc < 0 {
			fmt.Fprintln(os.Stderr, "the C loop failed:", mempool.LastErrorMessage())
			os.Exit(1)
		}
		fmt.Printf("go    %-14s C %7.1f ns/pair   Go   %7.1f ns/pair   Go/C   %5.2fx\n", c.name, cc, g, g/cc)
		fmt.Printf("go    %-14s C %7.1f ns/pair   Block%7.1f ns/pair   Block/C%5.2fx\n", c.name, cc, b, b/cc)
		p.Close()
	}
}
