using System.Security.Cryptography;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Endpoints;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Workspaces;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Agents;

/// <summary>
/// Creates a root agent from a template folder, endowed from the treasury: what <c>cyagents agents create</c> does on the
/// database directly (no <c>run</c> holds it) and what <c>POST /v1/operator/agents</c> does while <c>run</c> runs
/// (ADR 0102). Everything is checked before anything is written; the record, the account and the endowment are one
/// transaction of the caller's, and the workspace is a staged copy moved into place only after it committed.
/// </summary>
public static class AgentCreation
{
    /// <summary>Largest endowment: the treasury is the mint (it may go below zero), so this bound is what keeps sums in range.</summary>
    public const long MaxEndowment = 1_000_000_000_000;

    /// <summary>The refused field and why, or null: name (single line, 1–128 characters), endowment (1 … 10¹²), template (given).</summary>
    public static Refusal? Check(CreateAgentRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name)) errors["name"] = ["is required"];
        else if (name.Length > 128) errors["name"] = ["must be at most 128 characters"];
        else if (HumanText.Problem(name, singleLine: true) is { } text) errors["name"] = [text];
        if (request.Endowment < 1) errors["endowment"] = ["must be at least 1 credit"];
        else if (request.Endowment > MaxEndowment) errors["endowment"] = [$"must be at most {MaxEndowment} credits"];
        if (string.IsNullOrWhiteSpace(request.Template)) errors["template"] = ["is required: a folder holding agent.json"];
        else if (!Path.IsPathFullyQualified(request.Template)) errors["template"] = ["must be an absolute folder path on the host"];
        return errors.Count == 0 ? null : Refusal.Validation(errors);
    }

    /// <summary>
    /// Reads the template's manifest, refuses a duplicate name, opens the account, mints the endowment and adds the record
    /// (not saved: the caller's transaction commits it), and stages the workspace copy (returned in
    /// <paramref name="staged"/>; the caller commits it after its transaction, and disposes it either way).
    /// </summary>
    public static async Task<(AgentRecord? Agent, Refusal? Refusal)> CreateAsync(CyAgentsDbContext db, ILedger ledger, WorkspaceTemplate workspaces,
        CreateAgentRequest request, ManifestMinimums minimums, long cycle, DateTimeOffset now, Action<WorkspaceTemplate.Staged> staged, CancellationToken ct)
    {
        if (Check(request) is { } invalid) return (null, invalid);
        var folder = Path.GetFullPath(request.Template!);
        if (WorkspaceFiles.Entry(folder) is not DirectoryInfo { LinkTarget: null })
            return (null, Refusal.Validation("template", $"{folder} is not a folder"));
        string manifest;
        try { manifest = AgentManifestReader.Write(AgentManifestReader.ReadFolder(folder, minimums)); }
        catch (AgentManifestException e) { return (null, Refusal.Validation("template", e.Message)); }
        var name = request.Name!.Trim();
        if (await db.Set<AgentRecord>().AnyAsync(a => a.Name == name, ct))
            return (null, Refusal.Validation("name", $"an agent named '{name}' exists already"));

        var id = "agt-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        try { staged(workspaces.Stage(id, null, folder, hostile: false)); }
        catch (UnsafeWorkspaceEntryException e) { return (null, Refusal.Validation("template", $"{folder} cannot be copied: {e.Message}")); }

        await ledger.OpenAccountAsync(AccountIds.Treasury, AccountKind.Treasury, ct);
        await ledger.OpenAccountAsync(AccountIds.Escrow, AccountKind.Escrow, ct);
        await ledger.OpenAccountAsync(AccountIds.ForAgent(id), AccountKind.Agent, ct);
        await ledger.TransferAsync(new TransferRequest($"{id}:endowment", AccountIds.Treasury, AccountIds.ForAgent(id), request.Endowment,
            TransferKind.Endowment, cycle, $"endowment of {id} ({name}) created by the operator"), ct);
        var agent = new AgentRecord
        {
            Id = id, Name = name, RootId = id, Generation = 0, CreatedCycle = cycle, CreatedAt = now, ManifestJson = manifest,
            Status = AgentStatus.Active,
        };
        db.Add(agent);
        return (agent, null);
    }
}
