module pyrke.test/images

go 1.19
