using CyAgents.Orchestrator.Simulation.Population;

namespace CyAgents.Orchestrator.Simulation.Strategies;

/// <summary>
/// An agent that learns how much to shade: multiplicative weights over shading factors with bandit feedback (EXP3,
/// Auer et al. 2002). Each cycle it draws a factor s from its weights mixed with a little uniform exploration, bids
/// value × (1 − s), and afterwards raises that factor's weight by its importance-weighted utility, (value − payment) /
/// value when it won and 0 when it lost. It knows nothing of the mechanism, so what it learns is the mechanism's answer:
/// under first-price shading pays, under critical-value it only loses cycles.
/// </summary>
/// <remarks>
/// Deterministic: the draw is the agent's uniform of the cycle stream (<see cref="BidContext.Uniform"/>), the same under
/// every mechanism, so two runs that differ only in the mechanism differ only in what the agents learn.
/// </remarks>
public sealed class HedgeStrategy : BiddingStrategy
{
    /// <summary>The shading factors the agent chooses among: 0 % (truthful) to 80 % off its value.</summary>
    public static IReadOnlyList<double> Shades { get; } = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

    /// <summary>Share of uniform exploration mixed into the weights (EXP3's gamma).</summary>
    public const double Exploration = 0.1;

    /// <summary>
    /// Step of the multiplicative update per unit of importance-weighted reward. Larger than EXP3's gamma / K so that a
    /// few hundred cycles are enough to learn; the weights only decide what is played, so this trades noise for speed.
    /// </summary>
    public const double LearningRate = 0.2;

    /// <summary>
    /// Implicit exploration (EXP3-IX, Neu 2015): rewards are divided by p + this instead of p, so a rarely played factor
    /// that happens to win once does not leap ahead; it trades a little bias for much less noise.
    /// </summary>
    public const double ImplicitExploration = 0.05;

    public override string Name => "hedge";
    public override string Description => "learns a shading factor (0-80%) by multiplicative weights on its own utility (EXP3)";

    public override long Bid(SyntheticAgent agent, in BidContext context)
    {
        var learner = agent.Learner ??= new ShadeLearner(Shades.Count);
        learner.Choose(context.Uniform);
        return Math.Max(1, (long)Math.Floor(context.Value * (1 - Shades[learner.Chosen])));
    }

    public override void Observe(SyntheticAgent agent, bool won, long payment)
    {
        if (agent.Learner is not { } learner || agent.ValueThisCycle <= 0)
            return;
        var utility = won ? Math.Clamp((agent.ValueThisCycle - (double)payment) / agent.ValueThisCycle, 0, 1) : 0;
        learner.Reward(utility);
    }
}

/// <summary>EXP3's state for one agent: log-weights per arm, the mixed probabilities and the arm last played.</summary>
public sealed class ShadeLearner(int arms)
{
    /// <summary>
    /// The prior: weights start at exp(−8·shade), so an agent begins close to truthful (mean shade about 0.1) and departs
    /// only where shading earns more. Where every factor earns the same (an agent that wins at any of them), it stays.
    /// </summary>
    public const double TruthfulPrior = 8;

    private readonly double[] _logWeight = Enumerable.Range(0, arms).Select(a => -TruthfulPrior * HedgeStrategy.Shades[a]).ToArray();
    private readonly double[] _probability = new double[arms];

    /// <summary>The arm played this cycle.</summary>
    public int Chosen { get; private set; }

    /// <summary>The expected shade under the learned weights, without the exploration mixed in.</summary>
    public double LearnedShade
    {
        get
        {
            var weights = Normalized();
            return weights.Select((w, a) => w * HedgeStrategy.Shades[a]).Sum();
        }
    }

    /// <summary>Draws an arm by inverse transform of <paramref name="uniform"/> in [0, 1).</summary>
    public void Choose(double uniform)
    {
        var weights = Normalized();
        var k = _probability.Length;
        double cumulative = 0;
        var chosen = -1;
        for (var a = 0; a < k; a++)
        {
            _probability[a] = (1 - HedgeStrategy.Exploration) * weights[a] + HedgeStrategy.Exploration / k;
            cumulative += _probability[a];
            if (chosen < 0 && uniform < cumulative)
                chosen = a;
        }
        // Rounding can leave the cumulative a hair below 1: a draw beyond it takes the last arm.
        Chosen = chosen < 0 ? k - 1 : chosen;
    }

    /// <summary>The update: the played arm's weight grows by exp(rate · reward / (p + ix)), p the chance it had of being played.</summary>
    public void Reward(double reward) =>
        _logWeight[Chosen] += HedgeStrategy.LearningRate * reward / (_probability[Chosen] + HedgeStrategy.ImplicitExploration);

    private double[] Normalized()
    {
        var max = _logWeight.Max();
        var weights = _logWeight.Select(l => Math.Exp(l - max)).ToArray();
        var sum = weights.Sum();
        for (var a = 0; a < weights.Length; a++)
            weights[a] /= sum;
        return weights;
    }
}
