package org.mempool;

import java.util.function.Supplier;

/**
 * A GPU call failed for want of CUDA or a device: the C call returned
 * MP_ERR_UNSUPPORTED while {@link Mempool#deviceCount()} reports 0. It is a
 * {@link CudaException}, as the seed's CUDA errors are; its status stays
 * MP_ERR_UNSUPPORTED and its cause is the UnsupportedException of the C call.
 * MP_ERR_UNSUPPORTED from other causes stays an UnsupportedException.
 */
public class CudaUnavailableException extends CudaException {
    public CudaUnavailableException(int status, String detail) {
        super(status, detail);
    }

    /* e as a CudaUnavailableException when no device is usable, else e itself. */
    static RuntimeException of(UnsupportedException e) {
        if (Mempool.deviceCount() != 0)
            return e;
        CudaUnavailableException c = new CudaUnavailableException(e.getStatus(), e.getDetail());
        c.initCause(e);
        return c;
    }

    /* Runs a GPU call, turning its MP_ERR_UNSUPPORTED into this exception when no device is usable. */
    static <T> T gpu(Supplier<T> call) {
        try {
            return call.get();
        } catch (UnsupportedException e) {
            throw of(e);
        }
    }
}
