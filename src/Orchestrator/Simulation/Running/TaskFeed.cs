using CyAgents.Orchestrator.Simulation.Population;

namespace CyAgents.Orchestrator.Simulation.Running;

/// <summary>
/// The operator's task feed of a simulated economy (scenario field <c>market.tasks</c>, ADR 0142): every cycle the
/// treasury posts <see cref="PerCycle"/> tasks, each with a reward drawn from <see cref="Reward"/> and escrowed at once,
/// open for <see cref="DeadlineCycles"/> cycles. A share of them is judged by the human rather than by a command; an
/// agent's submission to such a task is a prompt of <see cref="ReviewCharacters"/> characters that costs attention.
/// </summary>
/// <param name="PerCycle">Tasks posted at the start of every cycle.</param>
/// <param name="Reward">Credits per task, rounded to a whole number of at least 1.</param>
/// <param name="DeadlineCycles">Cycles a task takes submissions after the one it was posted in (<c>TaskRules.DeadlineCycle</c>).</param>
/// <param name="ReviewShare">Share of tasks whose verifier is the human (<c>VerifierKind.Human</c>).</param>
/// <param name="ReviewCharacters">Length of the review prompt a submission to a human-reviewed task sends.</param>
public sealed record TaskFeed(long PerCycle, Distribution Reward, int DeadlineCycles, double ReviewShare, int ReviewCharacters);
