module go-waits

go 1.19
