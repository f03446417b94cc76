package mempool

import (
	"errors"
	"strings"
	"testing"
)

func TestStatsTextListsEveryLivePool(t *testing.T) {
	cfg, err := DefaultCPU()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool("go-print", CPU, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b, err := p.Allocate(48)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Deallocate(b)
	text, err := StatsText("")
	if err != nil || !strings.Contains(text, "pool 'go-print'") || !strings.Contains(text, "size classes:") {
		t.Fatalf("StatsText: %v %q", err, text)
	}
	js, err := StatsText("json")
	if err != nil || !strings.HasPrefix(js, `{"pools":[`) || !strings.Contains(js, `"pool":"go-print"`) {
		t.Fatalf("StatsText(json): %v %q", err, js)
	}
	if _, err := StatsText("yaml"); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "yaml") {
		t.Fatalf("StatsText(yaml): %v", err)
	}
}
