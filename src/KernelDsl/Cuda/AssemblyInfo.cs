using System.Runtime.CompilerServices;

// The CUDA tests fake the driver probe and inspect the launch pointer array.
[assembly: InternalsVisibleTo("KernelDsl.Cuda.Tests")]

// The runtime tests check the element-exact overlap search (TensorOverlap) against brute force, and its cost.
[assembly: InternalsVisibleTo("KernelDsl.Runtime.Tests")]
