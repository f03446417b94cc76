package mempool

// Checked access to pool memory. Go cannot revoke a slice, so Bytes views
// stay raw; a Block instead copies in and out while it holds its pool (so
// Close, Reset, Trim and TrimAuto, which hold the pool exclusively, wait) and
// its own lock (so Free waits), after checking that the block is live and the
// access in bounds. Liveness is Go-side bookkeeping only: Free marks the
// block, and a Reset of the pool moves the pool to a new epoch, which kills
// every Block of the earlier one without asking C. A dead Block never passes
// its address to C again, since the address may belong to a newer block.
// The pool keeps its live Blocks by address (Pool.blocks), so that a raw
// free of a live Block's memory is refused, and so is a second Block over
// memory that C handed out twice.

import (
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/mempool-project/mempool/bindings/go/internal/capi"
)

// Block is one allocation of a pool with checked access: ReadAt and WriteAt
// (io.ReaderAt and io.WriterAt) copy between Go memory and the block, and
// return ErrClosed once the block is freed, by Free or with every block of
// its pool by Reset, ResetAllPools, Close or DestroyPool. A Block of CUDA
// device memory refuses host access. Any goroutine may call any method at any
// time; writes to the same bytes from two goroutines race, as on any slice.
//
// A Block that is never freed lives until its pool is reset or closed, as a
// pointer from Allocate does.
type Block struct {
	mu    sync.RWMutex // Free holds it exclusively, the accessors shared
	freed bool         // under mu

	pool  *Pool
	ptr   unsafe.Pointer
	size  int64
	epoch uint64 // the pool's epoch at allocation
}

var _ interface {
	io.ReaderAt
	io.WriterAt
} = (*Block)(nil)

var errNilBlock = fmt.Errorf("%w: nil *Block", ErrInvalidArgument)

// AllocateBlock allocates size bytes from the pool, as Allocate does, and
// returns them as a Block.
//
// If C hands out memory that a live Block of the pool holds, which only a
// double free can cause (two raw Deallocates of one block racing on a
// lock-free pool, which C does not detect), AllocateBlock frees nothing and
// returns an error that errors.Is ErrCorruption: the memory stays the live
// Block's.
func (p *Pool) AllocateBlock(size uint64) (*Block, error) {
	if p != nil && !p.managed.Load() {
		if err := p.becomeManaged(); err != nil {
			return nil, err
		}
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.making.RLock()
	defer p.making.RUnlock()
	addr, err := capi.Address(uintptr(capi.Mpswig_allocate(p.h, int64(size))))
	if err != nil {
		return nil, err
	}
	b := &Block{pool: p, ptr: unsafe.Pointer(addr), size: int64(size), epoch: p.epoch}
	p.blocksMu.Lock()
	holder := p.blocks[addr]
	if holder == nil {
		p.blocks[addr] = b
	}
	p.blocksMu.Unlock()
	if holder != nil {
		return nil, refusal(capi.MP_ERR_CORRUPTION, "the pool handed out %p again while a live Block of %d bytes holds it: "+
			"the memory was freed twice, by raw Deallocates that raced (undetected on a lock-free pool); "+
			"it stays that Block's, and this request gets nothing", b.ptr, holder.size)
	}
	return b, nil
}

// becomeManaged turns on the Block bookkeeping, with the pool held alone so
// that every raw free that saw it off has returned.
func (p *Pool) becomeManaged() error {
	if err := p.lock(); err != nil {
		return err
	}
	if p.blocks == nil {
		p.blocks = map[uintptr]*Block{}
	}
	p.managed.Store(true)
	p.mu.Unlock()
	return nil
}

// killBlocks ends every Block of the pool (Reset, ResetAllPools); the caller
// holds the pool exclusively.
func (p *Pool) killBlocks() {
	p.epoch++ // even if C fails: a Block that might be dead is treated as dead
	if len(p.blocks) > 0 {
		p.blocks = map[uintptr]*Block{}
	}
}

// Size is the block's length in bytes, as requested (0 for a nil Block).
func (b *Block) Size() int64 {
	if b == nil {
		return 0
	}
	return b.size
}

// Pool is the pool the block came from.
func (b *Block) Pool() *Pool {
	if b == nil {
		return nil
	}
	return b.pool
}

// Pointer is the block's address, for Bytes, the copy functions or C code.
// This is the unsafe step: the pointer is not checked and does not keep the
// block alive. It must not be used once the block is freed or its pool reset,
// trimmed or closed. The block is freed by Free: a raw free of this pointer
// (Deallocate, DeallocateOnStream, a Router's Deallocate, the by-name
// Deallocate) is refused with ErrInvalidOperation while the Block is live.
func (b *Block) Pointer() unsafe.Pointer {
	if b == nil {
		return nil
	}
	return b.ptr
}

// hold holds the pool (as a call does) and the block (shared, or exclusive
// for Free) and fails when either is dead. release undoes it.
func (b *Block) hold(exclusive bool) error {
	if b == nil {
		return errNilBlock
	}
	p := b.pool
	if err := p.enter(); err != nil {
		return err
	}
	if exclusive {
		b.mu.Lock()
	} else {
		b.mu.RLock()
	}
	var err error
	switch {
	case b.freed:
		err = closedError(fmt.Sprintf("block %p of %d bytes was freed", b.ptr, b.size))
	case b.epoch != p.epoch:
		err = closedError(fmt.Sprintf("block %p of %d bytes was freed when its pool was reset", b.ptr, b.size))
	}
	if err != nil {
		b.release(exclusive)
	}
	return err
}

func (b *Block) release(exclusive bool) {
	if exclusive {
		b.mu.Unlock()
	} else {
		b.mu.RUnlock()
	}
	b.pool.leave()
}

// Free returns the block to its pool; a second Free returns ErrClosed. A
// nil *Block does nothing and returns nil, as a nil pointer to Deallocate.
func (b *Block) Free() error {
	if b == nil {
		return nil
	}
	if err := b.hold(true); err != nil {
		return err
	}
	defer b.release(true)
	b.freed = true // even if C reports corruption: a debug pool frees the block all the same
	p := b.pool
	p.making.RLock()
	defer p.making.RUnlock()
	// Unregistered before C has the memory back: another goroutine's
	// AllocateBlock may get it at once and must find the address free.
	// Raw frees wait on making, so none sees the gap.
	p.blocksMu.Lock()
	if p.blocks[uintptr(b.ptr)] == b {
		delete(p.blocks, uintptr(b.ptr))
	}
	p.blocksMu.Unlock()
	return capi.Mp_pool_deallocate(p.h, uintptr(b.ptr))
}

// hostBytes is the block as a []byte, for a caller that holds it.
func (b *Block) hostBytes() ([]byte, error) {
	if !b.pool.host {
		return nil, fmt.Errorf("%w: block %p is CUDA device memory: the host cannot address it; copy it with CopyDeviceToHost",
			ErrInvalidOperation, b.ptr)
	}
	return unsafe.Slice((*byte)(b.ptr), b.size), nil
}

// ReadAt copies len(dst) bytes from offset off of the block into dst. Fewer
// bytes, with io.EOF, when the block ends first.
func (b *Block) ReadAt(dst []byte, off int64) (int, error) {
	if err := b.hold(false); err != nil {
		return 0, err
	}
	defer b.release(false)
	mem, err := b.hostBytes()
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset %d", ErrInvalidArgument, off)
	}
	if off > b.size {
		return 0, io.EOF
	}
	n := copy(dst, mem[off:])
	if n < len(dst) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt copies src into the block at offset off. A write that would not
// fit writes nothing and returns an error that errors.Is ErrInvalidArgument.
func (b *Block) WriteAt(src []byte, off int64) (int, error) {
	if err := b.hold(false); err != nil {
		return 0, err
	}
	defer b.release(false)
	mem, err := b.hostBytes()
	if err != nil {
		return 0, err
	}
	if off < 0 || off > b.size || int64(len(src)) > b.size-off {
		return 0, fmt.Errorf("%w: %d bytes at offset %d do not fit the %d-byte block", ErrInvalidArgument, len(src), off, b.size)
	}
	return copy(mem[off:], src), nil
}
