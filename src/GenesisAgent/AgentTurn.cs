using System.Net.Sockets;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Contracts.Sandbox;

namespace CyAgents.GenesisAgent;

/// <summary>
/// One execution of the agent: read prices and balance, bid for the next cycle within budget, spawn when
/// rich enough, do the simple open tasks and hand them in, ask the human when configured, and write what it did to the journal.
/// </summary>
public sealed class AgentTurn(IAgentApi api, AgentEnvironment env, Strategy strategy, string workspace, TextWriter log)
{
    public async Task<int> RunAsync(CancellationToken ct)
    {
        var memory = ReadMemory();
        // A copy of the parent's memory (spawn copies the workspace): its task records are the parent's, not ours.
        if (memory.Agent is { } owner && owner != env.AgentId) memory = memory with { Submitted = [], TaskFiles = [] };
        memory = memory with { Agent = env.AgentId };
        var notes = new List<string>();
        if (strategy.Test is { } test)
            notes.AddRange(Misbehave(test));

        var prices = await api.GetPricesAsync(ct);
        var balance = await api.GetBalanceAsync(ct);
        log.WriteLine($"cycle {env.Cycle}: balance {balance.Available} available, bundle cost now {prices.CostOf(strategy.Bundle)}");

        var children = memory.Children.ToList();
        if (strategy.SpawnThreshold is { } threshold && balance.Available > threshold && children.Count < strategy.MaxChildren
            && strategy.ChildEndowment > 0 && strategy.ChildEndowment < balance.Available)
        {
            var name = $"{env.AgentId}-child-{children.Count + 1}";
            var childId = await api.SpawnAsync(name, strategy.ChildEndowment, strategy.ChildStrategy, $"{env.ExecutionId}:spawn", ct);
            children.Add(childId);
            notes.Add($"spawned {childId} with {strategy.ChildEndowment}");
            log.WriteLine($"spawned child {childId} with {strategy.ChildEndowment} credits");
            balance = await api.GetBalanceAsync(ct);
        }

        var amount = BidAmount(balance.Available);
        if (amount > 0)
        {
            var bidId = await api.PlaceBidAsync(env.NextCycle, strategy.Bundle, amount, $"{env.ExecutionId}:bid", ct);
            notes.Add($"bid {amount} for cycle {env.NextCycle} ({bidId})");
            log.WriteLine($"bid {amount} credits for cycle {env.NextCycle}: {bidId}");
        }
        else
        {
            notes.Add("no bid: balance too low");
            log.WriteLine("no bid: the balance does not cover the minimum bid");
        }

        if (strategy.DoTasks && strategy.MaxTasksPerTurn > 0)
            memory = await DoTasksAsync(memory, notes, ct);

        // A prompt is paid from the attention the execution won (ADR 0135): without any, the API would refuse it.
        if (!string.IsNullOrWhiteSpace(strategy.Prompt) && env.Bundle.AttentionBasisPoints > 0)
        {
            var promptId = await api.PostPromptAsync(strategy.Prompt, $"{env.ExecutionId}:prompt", ct);
            notes.Add($"asked the human ({promptId})");
        }

        if (!string.IsNullOrWhiteSpace(strategy.LlmQuestion) && env.Bundle.Tokens > 0)
            notes.Add(await ConsultLlmAsync(strategy.LlmQuestion, ct));

        WriteMemory(memory with { Runs = memory.Runs + 1, Children = children });
        File.AppendAllText(Path.Combine(workspace, "journal"),
            $"{DateTimeOffset.UtcNow:O} cycle={env.Cycle} execution={env.ExecutionId} {string.Join("; ", notes)}\n");
        return 0;
    }

    /// <summary>
    /// Writes each chosen task's file and hands it in. The idempotency key is the agent's and the task's, not the execution's:
    /// a turn re-run after a crash before memory.json was written replays the first submission instead of making a second.
    /// A task closed, at its submission limit or refusing the file is recorded as done too; only a transient failure
    /// (anything else) leaves it to try again next turn.
    /// </summary>
    private async Task<AgentMemory> DoTasksAsync(AgentMemory memory, List<string> notes, CancellationToken ct)
    {
        var submitted = new HashSet<string>(memory.Submitted, StringComparer.Ordinal);
        var taskFiles = new HashSet<string>(memory.TaskFiles, StringComparer.Ordinal);
        IReadOnlyList<TaskResponse> open;
        try { open = await api.GetOpenTasksAsync(ct); }
        catch (AgentApiException e)
        {
            // The bid is placed already; a task list the API will not give this turn is no reason to fail the execution.
            log.WriteLine($"no tasks this turn: {e.Message}");
            return memory;
        }
        var chosen = TaskText.Choose(open, env.AgentId, submitted, taskFiles, Occupied, strategy.MaxTasksPerTurn);
        foreach (var task in chosen)
        {
            await File.WriteAllTextAsync(Path.Combine(workspace, task.File), task.Content, ct);
            taskFiles.Add(task.File);
            try
            {
                var submission = await api.SubmitAsync(task.TaskId, task.File, $"{env.AgentId}:task:{task.TaskId}", ct);
                submitted.Add(task.TaskId);
                notes.Add($"handed in {task.File} for task {task.TaskId} ({task.Reward} credits): {submission}");
                log.WriteLine($"handed in {task.File} for task {task.TaskId} (reward {task.Reward}): submission {submission}");
            }
            catch (AgentApiException e) when (e.Code is ErrorCodes.TaskClosed or ErrorCodes.SubmissionLimit or ErrorCodes.SubmissionRefused)
            {
                submitted.Add(task.TaskId);
                notes.Add($"task {task.TaskId} not handed in: {e.Code}");
                log.WriteLine($"task {task.TaskId} not handed in: {e.Message}");
            }
            catch (AgentApiException e)
            {
                notes.Add($"task {task.TaskId}: will try again ({e.Code ?? "error"})");
                log.WriteLine($"task {task.TaskId}: submission failed, will try again: {e.Message}");
            }
        }
        return memory with { Submitted = [.. submitted.Order(StringComparer.Ordinal)], TaskFiles = [.. taskFiles.Order(StringComparer.Ordinal)] };
    }

    /// <summary>
    /// Something is at <paramref name="name"/> that a task must not overwrite: anything but a small regular file holding exactly
    /// <paramref name="content"/> (a re-run after a crash, or a child's copy of its parent's answer, hands that in unchanged).
    /// </summary>
    private bool Occupied(string name, string content)
    {
        var entry = new FileInfo(Path.Combine(workspace, name));
        if (!entry.Exists) return Directory.Exists(entry.FullName) || entry.LinkTarget is not null;
        if (entry.LinkTarget is not null || entry.Length > TaskText.MaxContentLength * 4L) return true;
        return File.ReadAllText(entry.FullName) != content;
    }

    /// <summary>One question to the gateway; a refusal (budget, provider down) is noted, not fatal: the turn's work is done.</summary>
    private async Task<string> ConsultLlmAsync(string question, CancellationToken ct)
    {
        try
        {
            var (answer, tokens) = await api.AskLlmAsync(strategy.LlmModel, question, strategy.LlmMaxTokens, ct);
            var line = answer.ReplaceLineEndings(" ");
            if (line.Length > 200) line = line[..200];
            log.WriteLine($"llm ({strategy.LlmModel}, {tokens} tokens): {line}");
            return $"asked the llm ({tokens} tokens): {line}";
        }
        catch (AgentApiException e)
        {
            log.WriteLine($"llm refused: {e.Message}");
            return "llm refused";
        }
    }

    /// <summary>The bid: a share of the available balance, at least <see cref="Strategy.MinBid"/>, never more than available.</summary>
    public long BidAmount(long available)
    {
        if (available <= 0) return 0;
        var amount = (long)Math.Floor(available * Math.Clamp(strategy.BidFraction, 0, 1));
        amount = Math.Max(amount, strategy.MinBid);
        return amount <= available ? amount : 0;
    }

    private IEnumerable<string> Misbehave(Misbehaviour test)
    {
        if (test.ReadPath is { } path)
        {
            string outcome;
            try { outcome = $"read {path}: succeeded ({File.ReadAllText(path).Length} chars)"; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { outcome = $"read {path}: failed ({e.GetType().Name}: {e.Message})"; }
            log.WriteLine(outcome);
            yield return outcome;
        }
        if (test.ConnectTo is { } target)
        {
            var outcome = TryConnect(target);
            log.WriteLine(outcome);
            yield return outcome;
        }
        if (test.AllocateMiB > 0)
        {
            log.WriteLine($"allocating {test.AllocateMiB} MiB");
            log.Flush();
            var blocks = new List<byte[]>();
            for (var i = 0; i < test.AllocateMiB; i++)
            {
                var block = new byte[1024 * 1024];
                for (var j = 0; j < block.Length; j += 4096) block[j] = 1; // touch every page so it is really resident
                blocks.Add(block);
            }
            yield return $"allocated {blocks.Count} MiB";
        }
        if (test.BusyLoopSeconds > 0)
        {
            log.WriteLine($"busy loop for {test.BusyLoopSeconds} s");
            log.Flush();
            var until = DateTime.UtcNow.AddSeconds(test.BusyLoopSeconds);
            var spins = 0L;
            while (DateTime.UtcNow < until) spins++;
            yield return $"busy loop done ({spins} spins)";
        }
    }

    private static string TryConnect(string target)
    {
        var colon = target.LastIndexOf(':');
        var host = colon > 0 ? target[..colon] : target;
        var port = colon > 0 && int.TryParse(target[(colon + 1)..], out var p) ? p : 80;
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            client.ConnectAsync(host, port, timeout.Token).AsTask().GetAwaiter().GetResult();
            return $"connect {target}: succeeded";
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return $"connect {target}: failed ({e.Message})";
        }
    }

    private AgentMemory ReadMemory()
    {
        var path = Path.Combine(workspace, AgentMemory.FileName);
        if (!File.Exists(path)) return new AgentMemory();
        try { return JsonSerializer.Deserialize(File.ReadAllText(path), AgentJson.Default.AgentMemory) ?? new AgentMemory(); }
        catch (JsonException) { return new AgentMemory(); }
    }

    private void WriteMemory(AgentMemory memory) =>
        File.WriteAllText(Path.Combine(workspace, AgentMemory.FileName), JsonSerializer.Serialize(memory, AgentJson.Default.AgentMemory));
}
