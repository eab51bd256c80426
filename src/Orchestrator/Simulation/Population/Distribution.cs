using MathNet.Numerics.Distributions;

namespace CyAgents.Orchestrator.Simulation.Population;

/// <summary>The families a scenario file may draw a number from.</summary>
public enum DistributionFamily
{
    /// <summary>Always <see cref="Distribution.A"/>; consumes no draw.</summary>
    Constant,
    /// <summary>Uniform on [A, B).</summary>
    Uniform,
    /// <summary>Lognormal with median A and log-scale spread B.</summary>
    LogNormal,
    /// <summary>Pareto with scale (smallest value) A and shape B.</summary>
    Pareto,
}

/// <summary>
/// A named distribution with its two parameters. Sampling calls MathNet with exactly the arguments the code used
/// before scenario files existed (lognormal: μ = ln median), so the built-in scenarios draw the same numbers.
/// </summary>
public sealed record Distribution(DistributionFamily Family, double A, double B = 0)
{
    public static Distribution Constant(double value) => new(DistributionFamily.Constant, value);
    public static Distribution Uniform(double min, double max) => new(DistributionFamily.Uniform, min, max);
    public static Distribution LogNormal(double median, double sigma) => new(DistributionFamily.LogNormal, median, sigma);
    public static Distribution Pareto(double scale, double shape) => new(DistributionFamily.Pareto, scale, shape);

    public double Sample(System.Random rng) => Family switch
    {
        DistributionFamily.Constant => A,
        DistributionFamily.Uniform => ContinuousUniform.Sample(rng, A, B),
        DistributionFamily.LogNormal => MathNet.Numerics.Distributions.LogNormal.Sample(rng, Math.Log(A), B),
        DistributionFamily.Pareto => MathNet.Numerics.Distributions.Pareto.Sample(rng, A, B),
        _ => throw new InvalidOperationException($"unknown distribution family {Family}"),
    };
}

/// <summary>How much of one resource a task needs: a draw rounded to <see cref="Step"/> and clamped to [Min, Max].</summary>
public sealed record DemandQuantity(Distribution Draw, long Step, long Min, long Max)
{
    public long Sample(System.Random rng) => Math.Clamp((long)Math.Round(Draw.Sample(rng) / Step) * Step, Min, Max);
}
