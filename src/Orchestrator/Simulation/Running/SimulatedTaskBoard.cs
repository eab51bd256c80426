using System.Globalization;
using CyAgents.Economy.Attention;
using CyAgents.Economy.Clearing;
using CyAgents.Economy.Ledger;
using CyAgents.Economy.Resources;
using CyAgents.Economy.Tasks;
using CyAgents.Orchestrator.Simulation.Population;
using MathNet.Numerics.Random;

namespace CyAgents.Orchestrator.Simulation.Running;

/// <summary>What the task board did in one cycle (the task columns of the cycle CSV).</summary>
/// <param name="Posted">Tasks the operator posted at the start of the cycle.</param>
/// <param name="Open">Tasks still open after the cycle's submissions were judged.</param>
/// <param name="Attempts">Submissions judged (a winner's attempt at the task it had picked).</param>
/// <param name="Passed">Submissions that passed their verifier (awarded or not).</param>
/// <param name="Awarded">Tasks awarded: the first passing submission of each.</param>
/// <param name="RewardsPaid">Credits paid as TaskReward transfers.</param>
/// <param name="Expired">Tasks that reached their deadline unawarded, before this cycle cleared.</param>
/// <param name="Returned">Credits returned to the treasury (TaskReturn transfers) for them.</param>
/// <param name="AttentionRefused">Submissions to human-reviewed tasks refused because the won attention did not cover the prompt.</param>
/// <param name="AttentionSpent">Basis points of the human's attention paid for review prompts.</param>
/// <param name="PassedUnpaid">Passing submissions to a task another agent had already won this cycle: they earn nothing.</param>
public sealed record TaskCycleMetrics(int Posted, int Open, int Attempts, int Passed, int Awarded, long RewardsPaid, int Expired,
    long Returned, int AttentionRefused, long AttentionSpent, int PassedUnpaid);

/// <summary>
/// The operator's task board of a simulated economy (ADR 0142), on the Economy's own task rules: rewards are escrowed,
/// paid and returned with <see cref="TaskTransfers"/> (the live transfer kinds and ids, from the treasury as poster), the
/// award follows <see cref="TaskRules.Judged"/> (first verified submission wins), expiry <see cref="TaskRules.IsDue"/>, and
/// a human-reviewed submission is a prompt costed by <see cref="PromptAttention"/>, refused when the attention the agent
/// won does not cover it.
/// </summary>
/// <remarks>
/// Each cycle every agent looks at the board and picks one open task (a uniform draw); the share of its reward it expects,
/// skill × reward, is part of what compute is worth to it that cycle, for a bundle that can pay the task's review. An
/// agent that wins a bundle attempts its pick: the attempt passes when the agent's success draw falls below its skill;
/// winners' submissions are judged in the order of a third draw (who finished first). All three draws are taken in agent
/// order before bids, from the board's own stream, so every mechanism sees the same picks and luck (common random numbers)
/// and the market's draws are those of a run without tasks.
/// </remarks>
internal sealed class SimulatedTaskBoard
{
    private sealed class PostedTask(string id, long reward, long deadlineCycle, bool review)
    {
        public string Id { get; } = id;
        public long Reward { get; } = reward;
        public long DeadlineCycle { get; } = deadlineCycle;
        public bool Review { get; } = review;
        public TaskState State { get; set; } = TaskState.Open;
    }

    private readonly TaskFeed _feed;
    private readonly MersenneTwister _rng;
    private readonly List<PostedTask> _open = [];
    private PostedTask?[] _picks;
    private double[] _success;
    private double[] _finish;
    private int _posted;
    private int _expired;
    private long _returned;

    public SimulatedTaskBoard(TaskFeed feed, PromptAttention attention, int seed, int agents)
    {
        _feed = feed;
        _rng = new MersenneTwister(SeedStreams.Derive(seed, "tasks"), threadSafe: false);
        ReviewCost = attention.CostOf(feed.ReviewCharacters);
        _picks = new PostedTask?[agents];
        _success = new double[agents];
        _finish = new double[agents];
    }

    /// <summary>The attention one review prompt costs (basis points).</summary>
    public long ReviewCost { get; }

    /// <summary>The last cycle's figures; null before the first.</summary>
    public TaskCycleMetrics? Last { get; private set; }

    /// <summary>Tasks open now, in the order they were posted.</summary>
    public int OpenCount => _open.Count;

    /// <summary>
    /// Start of a cycle: returns the rewards of tasks past their deadline, posts the cycle's tasks with their rewards
    /// escrowed from the treasury, and draws every agent's pick, success and finishing order.
    /// </summary>
    public async Task OpenCycleAsync(int cycle, int agents, ILedger ledger, CancellationToken ct)
    {
        if (_picks.Length < agents)
        {
            Array.Resize(ref _picks, agents);
            Array.Resize(ref _success, agents);
            Array.Resize(ref _finish, agents);
        }
        var operations = new List<LedgerOperation>();
        _expired = 0;
        _returned = 0;
        _open.RemoveAll(task =>
        {
            if (!TaskRules.IsDue(task.State, task.DeadlineCycle, cycle))
                return false;
            operations.AddRange(TaskTransfers.ReturnTo(task.Id, posterAgentId: null, task.Reward, cycle));
            task.State = TaskState.Expired;
            _expired++;
            _returned += task.Reward;
            return true;
        });
        var cycleText = cycle.ToString(CultureInfo.InvariantCulture);
        for (var j = 0L; j < _feed.PerCycle; j++)
        {
            var reward = Math.Clamp((long)Math.Round(_feed.Reward.Sample(_rng)), 1, ClearingValidation.MaxAmount);
            var review = _feed.ReviewShare > 0 && _rng.NextDouble() < _feed.ReviewShare;
            var task = new PostedTask(string.Concat("sim-c", cycleText, "-t", j.ToString(CultureInfo.InvariantCulture)), reward,
                TaskRules.DeadlineCycle(cycle, _feed.DeadlineCycles), review);
            operations.Add(TaskTransfers.EscrowOf(task.Id, posterAgentId: null, reward, cycle));
            _open.Add(task);
        }
        _posted = (int)_feed.PerCycle;
        for (var i = 0; i < agents; i++)
        {
            var pick = _rng.NextDouble();
            _picks[i] = _open.Count == 0 ? null : _open[Math.Min(_open.Count - 1, (int)(pick * _open.Count))];
            _success[i] = _rng.NextDouble();
            _finish[i] = _rng.NextDouble();
        }
        if (operations.Count > 0)
            await ledger.ApplyBatchAsync(operations, ct);
    }

    /// <summary>True when agent <paramref name="index"/> picked a task this cycle.</summary>
    public bool HasPick(int index) => _picks[index] is not null;

    /// <summary>
    /// What the agent expects to earn from its pick with <paramref name="bundle"/>: skill × reward, rounded down, when the
    /// bundle's attention pays the review the task needs (or it needs none); otherwise nothing.
    /// </summary>
    public long ValueOf(int index, SyntheticAgent agent, ResourceBundle bundle) =>
        _picks[index] is not { } pick || (pick.Review && !PromptAttention.Fits(bundle.AttentionBasisPoints, 0, ReviewCost))
            ? 0
            : (long)Math.Floor(agent.Skill * pick.Reward);

    /// <summary>
    /// After settlement: every winner submits its pick; submissions are judged in finishing order. A reviewed task's
    /// submission is refused when its prompt does not fit in the attention the winner was granted. The first pass on an
    /// open task is awarded (escrow posted, reward paid); later passes earn nothing; failures leave the task open.
    /// </summary>
    public async Task SettleAsync(int cycle, ClearingResult result, IReadOnlyDictionary<string, int> byId,
        IReadOnlyList<SyntheticAgent> agents, ILedger ledger, CancellationToken ct)
    {
        var submissions = new List<(int Agent, ResourceBundle Granted)>(result.Winners.Count);
        foreach (var winner in result.Winners)
        {
            var i = byId[winner.AgentId];
            if (_picks[i] is not null)
                submissions.Add((i, winner.Bundle));
        }
        submissions.Sort((a, b) => a.Agent == b.Agent ? 0
            : _finish[a.Agent] != _finish[b.Agent] ? _finish[a.Agent].CompareTo(_finish[b.Agent]) : a.Agent.CompareTo(b.Agent));

        var operations = new List<LedgerOperation>();
        int attempts = 0, passed = 0, awarded = 0, refused = 0, unpaid = 0;
        long paid = 0, attention = 0;
        foreach (var (i, granted) in submissions)
        {
            var task = _picks[i]!;
            if (task.Review)
            {
                if (!PromptAttention.Fits(granted.AttentionBasisPoints, 0, ReviewCost))
                {
                    refused++;
                    continue;
                }
                attention += ReviewCost;
            }
            attempts++;
            var pass = _success[i] < agents[i].Skill;
            switch (TaskRules.Judged(pass, task.State))
            {
                case SubmissionState.Awarded:
                    var agent = agents[i];
                    operations.AddRange(TaskTransfers.AwardTo(task.Id, agent.Id, task.Reward, cycle));
                    task.State = TaskState.Awarded;
                    agent.TaskEarnings += task.Reward;
                    agent.TasksAwarded++;
                    passed++;
                    awarded++;
                    paid += task.Reward;
                    break;
                case SubmissionState.Passed:
                    passed++;
                    unpaid++;
                    break;
            }
        }
        _open.RemoveAll(t => t.State != TaskState.Open);
        if (operations.Count > 0)
            await ledger.ApplyBatchAsync(operations, ct);
        Last = new TaskCycleMetrics(_posted, _open.Count, attempts, passed, awarded, paid, _expired, _returned, refused, attention, unpaid);
    }
}
