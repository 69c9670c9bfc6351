using System.Runtime.CompilerServices;

// The CUDA tests fake the driver probe and inspect the launch pointer array.
[assembly: InternalsVisibleTo("KernelDsl.Cuda.Tests")]
