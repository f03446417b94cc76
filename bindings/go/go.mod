module mempool

go 1.19
