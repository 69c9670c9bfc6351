namespace Training;

/// <summary>The few dense products the model needs, plain loops (the attention is where the work is).</summary>
internal static class Linear
{
    /// <summary>C[n, m] = A[n, k]·B[k, m].</summary>
    public static float[] Multiply(float[] a, float[] b, int n, int k, int m)
    {
        var c = new float[n * m];
        for (int i = 0; i < n; i++)
        {
            for (int l = 0; l < k; l++)
            {
                float x = a[(i * k) + l];
                for (int j = 0; j < m; j++)
                {
                    c[(i * m) + j] += x * b[(l * m) + j];
                }
            }
        }

        return c;
    }

    /// <summary>C[n, k] = A[n, m]·B[k, m]ᵀ.</summary>
    public static float[] MultiplyTransposed(float[] a, float[] b, int n, int m, int k)
    {
        var c = new float[n * k];
        for (int i = 0; i < n; i++)
        {
            for (int l = 0; l < k; l++)
            {
                float sum = 0;
                for (int j = 0; j < m; j++)
                {
                    sum += a[(i * m) + j] * b[(l * m) + j];
                }

                c[(i * k) + l] = sum;
            }
        }

        return c;
    }

    /// <summary>C[k, m] += A[n, k]ᵀ·B[n, m].</summary>
    public static void AddTransposedProduct(float[] a, float[] b, float[] c, int n, int k, int m)
    {
        for (int i = 0; i < n; i++)
        {
            for (int l = 0; l < k; l++)
            {
                float x = a[(i * k) + l];
                for (int j = 0; j < m; j++)
                {
                    c[(l * m) + j] += x * b[(i * m) + j];
                }
            }
        }
    }

    public static void Add(float[] target, float[] addend)
    {
        for (int i = 0; i < target.Length; i++)
        {
            target[i] += addend[i];
        }
    }
}
