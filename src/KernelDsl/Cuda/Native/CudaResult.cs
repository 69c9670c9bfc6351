namespace KernelDsl.Cuda.Native;

/// <summary>
/// The driver's CUresult. Only the codes this runtime reacts to are named; any other value still reaches
/// <see cref="CudaException"/>, which asks the driver for its name and message.
/// </summary>
public enum CudaResult
{
    Success = 0,
    ErrorInvalidValue = 1,
    ErrorOutOfMemory = 2,
    ErrorNotInitialized = 3,
    ErrorDeinitialized = 4,
    ErrorNoDevice = 100,
    ErrorInvalidDevice = 101,
    ErrorInvalidImage = 200,
    ErrorInvalidContext = 201,
    ErrorInvalidPtx = 218,
    ErrorUnsupportedPtxVersion = 222,
    ErrorNotFound = 500,
    ErrorIllegalAddress = 700,
    ErrorLaunchOutOfResources = 701,
    ErrorLaunchTimeout = 702,
    ErrorLaunchFailed = 719,
    ErrorUnknown = 999,
}
