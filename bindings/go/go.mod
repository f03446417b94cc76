module github.com/mempool-project/mempool/bindings/go

go 1.19
