using System;

namespace Training;

/// <summary>A trainable tensor: values, gradient and Adam's two moments, flat.</summary>
internal sealed class Parameter
{
    public Parameter(string name, int length, Random random, float scale)
    {
        Name = name;
        Value = new float[length];
        Gradient = new float[length];
        First = new float[length];
        Second = new float[length];
        for (int i = 0; i < length; i++)
        {
            Value[i] = scale * (float)((random.NextDouble() * 2) - 1);
        }
    }

    public string Name { get; }

    public float[] Value { get; }

    public float[] Gradient { get; }

    private float[] First { get; }

    private float[] Second { get; }

    /// <summary>One Adam step (Kingma and Ba 2015, bias-corrected), then the gradient is cleared.</summary>
    public void AdamStep(int step, float rate, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f)
    {
        float correction1 = 1 - MathF.Pow(beta1, step), correction2 = 1 - MathF.Pow(beta2, step);
        for (int i = 0; i < Value.Length; i++)
        {
            float g = Gradient[i];
            First[i] = (beta1 * First[i]) + ((1 - beta1) * g);
            Second[i] = (beta2 * Second[i]) + ((1 - beta2) * g * g);
            Value[i] -= rate * (First[i] / correction1) / (MathF.Sqrt(Second[i] / correction2) + epsilon);
            Gradient[i] = 0;
        }
    }
}
