set terminal pngcairo size 1400,700 noenhanced
set output 'bench/results/cpu_bench_2026-11-24d.png'
set title 'ns per allocate+free (median, lower is better)'
set style data histograms
set style histogram clustered gap 1
set style fill solid border -1
set logscale y
set key outside right
set xtics rotate by -30
set ylabel 'ns'
plot 'bench/results/cpu_bench_2026-11-24d.png.dat' using 2:xtic(1) title 'pair64', '' using 3 title 'batch1000', '' using 4 title 'churn', '' using 5 title 'xthread'
