module go-pcln

go 1.19
