"""Private Numba kernels: arrays in, arrays out. Wrappers in the public modules validate inputs."""
