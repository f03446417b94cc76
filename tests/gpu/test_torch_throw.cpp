// The callback the Python helper installs (mempool_torch_malloc_throw): a
// failure must throw, since PyTorch stores whatever pointer comes back.
//   test_torch_throw nodevice  no device: std::runtime_error, not bad_alloc
//   test_torch_throw device    out of memory: std::bad_alloc with the detail,
//                              and the next allocation works
// Exits 77 (skip) where its half cannot run.
#include "mempool_torch.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

static int failures = 0;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                   \
            std::fprintf(stderr, __VA_ARGS__);                                                     \
            std::fprintf(stderr, "\n");                                                            \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

// What mempool_torch_malloc_throw(size) threw: "bad_alloc", "runtime_error"
// or "none"; what() in *what.
static std::string thrown_by(size_t size, std::string *what, void **out)
{
    *out = nullptr;
    try {
        *out = mempool_torch_malloc_throw(size, 0, nullptr);
    } catch (const std::bad_alloc &e) {
        *what = e.what();
        return "bad_alloc";
    } catch (const std::runtime_error &e) {
        *what = e.what();
        return "runtime_error";
    }
    return "none";
}

int main(int argc, char **argv)
{
    bool want_device = argc > 1 && std::strcmp(argv[1], "device") == 0;
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess)
        devices = 0;
    if (want_device != (devices > 0)) {
        std::printf("SKIP: %d CUDA device(s); this half of the suite needs %s\n", devices,
                    want_device ? "one" : "none");
        return 77;
    }
    std::string what;
    void *p;
    CHECK(thrown_by(0, &what, &p) == "none" && p == nullptr, "zero bytes: NULL, no exception");
    if (!want_device) {
        std::string kind = thrown_by(1 << 20, &what, &p);
        CHECK(kind == "runtime_error", "threw %s", kind.c_str());
        CHECK(what.find("mempool_torch: creating the 'default' pool of device 0 failed") != std::string::npos &&
                  what.find("MP_ERR_UNSUPPORTED") != std::string::npos,
              "what(): %s", what.c_str());
    } else {
        CHECK(mempool_torch_configure("default", 64u << 20) == 0, "%s", mempool_torch_last_error());
        std::string kind = thrown_by(256u << 20, &what, &p);
        CHECK(kind == "bad_alloc", "threw %s", kind.c_str());
        CHECK(what.find("MP_ERR_OUT_OF_MEMORY") != std::string::npos, "what(): %s", what.c_str());
        CHECK(what == mempool_torch_last_error(), "what() %s, last error %s", what.c_str(),
              mempool_torch_last_error());
        kind = thrown_by(1 << 20, &what, &p);
        CHECK(kind == "none" && p != nullptr, "after out of memory: threw %s (%s)", kind.c_str(), what.c_str());
        mempool_torch_free(p, 1 << 20, 0, nullptr);
    }
    std::printf("%s: %s\n", want_device ? "device" : "nodevice", failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
}
