# The two commands of the quick start; everything else is plain CMake.
#   make demo        installs what is missing, builds, runs the demo
#   make test        installs what is missing, then runs every test: the
#                    default build (C, C++, Java, Go, ABI, README checks),
#                    the C library without CUDA, ASan+UBSan with a bounded
#                    fuzzing run, TSan on the thread tests, and Valgrind
#   make test-quick  the default build's ctest only
.PHONY: demo test test-quick test-nocuda test-asan test-tsan test-valgrind build deps clean

deps:
	@scripts/deps.sh

build: deps
	cmake --preset default
	cmake --build --preset default

demo: build
	./build/examples/mempool_demo

test-quick: build
	ctest --preset default

test-nocuda: deps
	cmake --preset nocuda
	cmake --build --preset nocuda
	ctest --preset nocuda

test-asan: deps
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan
	bindings/lua/tests/asan.sh build-lua-asan

test-tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan
	ctest --preset tsan

test-valgrind: test-nocuda
	tests/tools/valgrind.sh build-nocuda

test: test-quick test-valgrind test-asan test-tsan

clean:
	rm -rf build build-nocuda build-asan build-tsan build-device build-lua-asan
