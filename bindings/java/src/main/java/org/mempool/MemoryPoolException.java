package org.mempool;


/**
 * A failed mempool call (the seed's MemoryPoolException). The subclass names
 * the status; {@link #getStatus()} and {@link #getDetail()} carry the C
 * library's status and detail message.
 */
public class MemoryPoolException extends RuntimeException {
    private final int status;
    private final String detail;

    public MemoryPoolException(int status, String detail) {
        super(MempoolNative.mp_status_name(status) + ": " + detail);
        this.status = status;
        this.detail = detail;
    }

    /** The mp_status value. */
    public int getStatus() { return status; }

    /** The status's C name, e.g. "MP_ERR_OUT_OF_MEMORY". */
    public String getStatusName() { return MempoolNative.mp_status_name(status); }

    /** The library's detail: which pool, which size, which CUDA error. */
    public String getDetail() { return detail; }
}
