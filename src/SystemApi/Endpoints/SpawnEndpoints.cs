using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using CyAgents.Contracts;
using CyAgents.Economy.Ledger;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Agents;
using CyAgents.SystemApi.Errors;
using CyAgents.SystemApi.Hosting;
using CyAgents.SystemApi.Idempotency;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Market;
using CyAgents.SystemApi.Workspaces;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

using CyAgents.Persistence.Events;

namespace CyAgents.SystemApi.Endpoints;

/// <summary>
/// Spawning: a child agent endowed from the caller's own credits (SpawnTransfer) plus a SpawnFee to the treasury,
/// with lineage recorded. The child gets a copy of the parent's workspace and the parent's stored manifest, or, when the
/// request names a template, that template's folder and manifest (ADR 0101). Depth and children per cycle are capped.
/// </summary>
internal static class SpawnEndpoints
{
    private static readonly ContractsJsonContext Json = ContractsJsonContext.Default;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGroup(ApiRoutes.Spawn).WithTags("Spawn").RequiresToken(Caller.AgentPolicy)
            .MapPost("", Spawn).WithName("Spawn")
            .WithSummary("Spawn a child agent with an endowment from the caller's credits")
            .WithDescription("Charges endowment + Spawn:Fee to the caller. Without `template` the child gets a copy of the caller's workspace and manifest; with it, that template's folder and agent.json. Accepts Idempotency-Key. Refusals: validation (400; also an unknown template, a template whose agent.json is refused, or a parent workspace that holds a link, a special file or more than the copy limits), forbidden (403, parentId of another agent), insufficient_funds (402), spawn_limit (422).")
            .Refuses(400, 402, 403, 409, 413, 415, 422, 500);

    private static async Task<Results<Created<SpawnResponse>, ProblemHttpResult>> Spawn(SpawnRequest request, ClaimsPrincipal user,
        HttpContext http, IdempotentWrites writes, WorkspaceTemplate workspaces, IOptions<SpawnOptions> options, ILoggerFactory logs,
        IOptions<WorkspaceOptions> templateOptions, IOptions<SystemApiOptions> api)
    {
        var minimums = new ManifestMinimums(api.Value.MinBidCpuMillicores, api.Value.MinBidMemoryMiB);
        var caller = Caller.From(user);
        var rules = options.Value;
        if (request.ParentId is not null && request.ParentId != caller.AgentId)
            return Problems.Forbidden("an agent spawns with its own credits only: parentId must be the caller or absent");
        if (Validate(request, rules) is { } invalid) return invalid;

        var body = JsonSerializer.SerializeToUtf8Bytes(request, Json.SpawnRequest);
        using var workspace = new NewAgentWorkspace();
        var outcome = await writes.RunAsync(http, caller, body, Json.SpawnResponse, StatusCodes.Status201Created, async w =>
        {
            var ct = w.Ct;
            if (await AgentStanding.RetiredAsync(w.Db, caller.AgentId!, "spawn", ct) is { } retired) return retired;
            var parent = await w.Db.Set<AgentRecord>().AsNoTracking().FirstAsync(a => a.Id == caller.AgentId, ct);
            if (parent.Generation + 1 > rules.MaxGeneration)
                return new Refusal(ErrorCodes.SpawnLimit,
                    $"a child would be generation {parent.Generation + 1}; the limit is {rules.MaxGeneration}");
            var cycle = await MarketView.CurrentCycleAsync(w.Db, ct);
            var siblings = await w.Db.Set<AgentRecord>().CountAsync(a => a.ParentId == parent.Id && a.CreatedCycle == cycle, ct);
            if (siblings >= rules.MaxChildrenPerCycle)
                return new Refusal(ErrorCodes.SpawnLimit,
                    $"already {siblings} children spawned in cycle {cycle}; the limit is {rules.MaxChildrenPerCycle}");

            var childId = "agt-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            // What the child starts from, staged before any credit moves: a refused copy refuses the spawn whole.
            string? manifest = parent.ManifestJson;
            string source;
            var hostile = false;
            if (request.Template is { } name)
            {
                if (workspaces.FindTemplate(name, out var problem) is not { } folder)
                    return Refusal.Validation("template", problem!);
                if (await w.Db.Set<AgentRecord>().AnyAsync(a => a.Id == name, ct))
                    return Refusal.Validation("template", $"'{name}' is an agent's workspace, not a template");
                try { manifest = AgentManifestReader.Write(AgentManifestReader.ReadFolder(folder, minimums)); }
                catch (AgentManifestException e) { return Refusal.Validation("template", e.Message); }
                source = folder;
            }
            else if (workspaces.WorkspaceOf(parent.Id) is var ownPath && !workspaces.IsTemplate(ownPath)
                     && WorkspaceFiles.Entry(ownPath) is { } own)
            {
                // The parent's tree is hostile and may change while it is copied (the parent is running): ADR 0101.
                if (own is not DirectoryInfo { LinkTarget: null })
                    return Refusal.Validation("template", "the parent's workspace is not a folder; name a template to spawn from");
                source = own.FullName;
                hostile = true;
            }
            else if (workspaces.TemplateExists) source = Path.GetFullPath(templateOptions.Value.Template);
            else
                return new Refusal(ErrorCodes.Internal, "the workspace template folder is missing on the host; nothing was changed");
            workspace.Drop();
            try { workspace.Hold(workspaces.Stage(childId, request.Strategy?.GetRawText(), source, hostile)); }
            catch (UnsafeWorkspaceEntryException e)
            {
                return Refusal.Validation("template", $"the workspace cannot be copied: {e.Message}; name a template to spawn from");
            }

            var child = new AgentRecord
            {
                Id = childId, Name = request.Name!.Trim(), ParentId = parent.Id, RootId = parent.RootId,
                Generation = parent.Generation + 1, CreatedCycle = cycle, CreatedAt = w.Now,
                StrategyJson = request.Strategy?.GetRawText(), Status = AgentStatus.Active, ManifestJson = manifest,
            };
            await w.Ledger.OpenAccountAsync(AccountIds.ForAgent(childId), AccountKind.Agent, ct);
            var from = AccountIds.ForAgent(parent.Id);
            var operations = new List<LedgerOperation>
            {
                new TransferRequest($"spawn:{childId}:endowment", from, AccountIds.ForAgent(childId), request.Endowment,
                    TransferKind.SpawnTransfer, cycle, $"endowment of {childId} from {parent.Id}"),
            };
            if (rules.Fee > 0)
                operations.Add(new TransferRequest($"spawn:{childId}:fee", from, AccountIds.Treasury, rules.Fee,
                    TransferKind.SpawnFee, cycle, $"spawn fee for {childId}"));
            await w.Ledger.ApplyBatchAsync(operations, ct);
            w.Db.Add(child);
            w.Db.AddEvent(EventTypes.AgentSpawned, parent.Id, cycle, w.Now, new
            {
                agentId = childId, parentId = parent.Id, name = child.Name, generation = child.Generation, endowment = request.Endowment,
            });
            return new SpawnResponse(child.ToWire(), request.Endowment, rules.Fee, childId);
        });
        if (outcome.Problem is not null) return outcome.Problem;
        var spawned = outcome.Value!;
        if (!outcome.Replayed)
        {
            var log = logs.CreateLogger("CyAgents.SystemApi.Spawn");
            workspace.MoveIntoPlace(log, spawned.Agent.Id);
            log.LogInformation(
                "Agent {ChildId} ({ChildName}) spawned by {ParentId}: generation {Generation}, endowment {Endowment}, fee {Fee}, workspace {Workspace}",
                spawned.Agent.Id, spawned.Agent.Name, spawned.Agent.ParentId, spawned.Agent.Generation, spawned.Endowment, spawned.Fee,
                workspace.FinalPath);
        }
        return TypedResults.Created(ApiRoutes.Agent(spawned.Agent.Id), spawned);
    }

    private static ProblemHttpResult? Validate(SpawnRequest request, SpawnOptions rules)
    {
        var errors = new Dictionary<string, string[]>();
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name)) errors["name"] = ["is required"];
        else if (name.Length > 128) errors["name"] = ["must be at most 128 characters"];
        else if (HumanText.Problem(name, singleLine: true) is { } text) errors["name"] = [text];
        if (request.Endowment < rules.MinEndowment) errors["endowment"] = [$"must be at least {rules.MinEndowment} credits"];
        if (request.Strategy is { } s && s.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined))
            errors["strategy"] = ["must be a JSON object"];
        return errors.Count == 0 ? null : Problems.Validation(errors);
    }
}
