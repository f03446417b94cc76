# The two commands of the quick start; everything else is plain CMake.
#   make demo   installs what is missing, builds, runs the demo
#   make test   installs what is missing, builds, runs every test
#               (again without CUDA, to prove the CUDA-less build)
.PHONY: demo test build deps clean

deps:
	@scripts/deps.sh

build: deps
	cmake --preset default
	cmake --build --preset default

demo: build
	./build/examples/mempool_demo

test: build
	ctest --preset default
	cmake --preset nocuda
	cmake --build --preset nocuda
	ctest --preset nocuda

clean:
	rm -rf build build-nocuda build-device
