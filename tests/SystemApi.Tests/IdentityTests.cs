using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Identity;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests;

public class IdentityTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("Bearer not-a-token")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task Requests_without_a_valid_token_are_unauthenticated(string? authorization)
    {
        await using var api = new ApiFactory();
        using var http = api.ClientWith(null);
        if (authorization is not null) http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);

        var response = await http.GetAsync(ApiRoutes.Balance);

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        response.Headers.WwwAuthenticate.ToString().ShouldContain("Bearer");
    }

    [Fact]
    public async Task A_token_is_refused_once_its_execution_has_ended()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000, executionId: "exe-1");
        using var http = api.ClientWith(token);
        (await http.GetAsync(ApiRoutes.Balance)).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await api.Get<AgentTokenService>().RevokeExecutionAsync("exe-1")).ShouldBe(1);
        var before = await api.SnapshotAsync();

        await (await http.GetAsync(ApiRoutes.Balance)).ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        await (await http.PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(new ResourceBundleDto(100, 64, 0, 0), 5)))
            .ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Tokens_are_random_and_stored_only_as_their_hash_bound_to_agent_execution_and_cycle()
    {
        await using var api = new ApiFactory();
        await api.SeedAgentAsync("alice", 0);
        var issued = await api.Get<AgentTokenService>().IssueAsync("alice", "exe-9", 7);
        var again = await api.Get<AgentTokenService>().IssueAsync("alice", "exe-9", 7);

        issued.Token.Length.ShouldBeGreaterThanOrEqualTo(22); // 22 base64 characters hold 128 bits; ours hold 256
        again.Token.ShouldNotBe(issued.Token);
        await using var db = await api.DbAsync();
        var rows = await db.Set<AgentTokenRecord>().ToListAsync();
        rows.Count.ShouldBe(2);
        rows.ShouldAllBe(r => r.AgentId == "alice" && r.ExecutionId == "exe-9" && r.Cycle == 7 && r.TokenHash.Length == 64);
        rows.ShouldNotContain(r => r.TokenHash.Contains(issued.Token));
        (await File.ReadAllBytesAsync(api.DatabasePath)).AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(issued.Token)).ShouldBe(-1);
    }

    [Fact]
    public async Task An_agent_token_cannot_act_as_operator()
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 1000);
        var prompt = await api.TypedClient(token).AskAsync(new AskPromptRequest("May I?"));
        var before = await api.SnapshotAsync();
        using var http = api.ClientWith(token);

        await (await http.GetAsync(ApiRoutes.OperatorPrompts)).ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await (await http.PostAsJsonAsync(ApiRoutes.AnswerPrompt(prompt.Id), new AnswerPromptRequest("yes", 500)))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task The_operator_token_cannot_bid_or_spawn()
    {
        await using var api = new ApiFactory();
        await api.SeedAgentAsync("alice", 1000);
        var before = await api.SnapshotAsync();
        using var http = api.ClientWith(ApiFactory.OperatorSecret);

        await (await http.PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(new ResourceBundleDto(100, 64, 0, 0), 5)))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        await (await http.PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest("kid", 10, ParentId: "alice")))
            .ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Without_a_configured_token_the_operator_token_is_created_once_in_a_file_only_its_owner_can_read()
    {
        var root = Directory.CreateTempSubdirectory("cyagents-op-").FullName;
        var file = Path.Combine(root, "secrets", "operator.token");
        try
        {
            string token;
            await using (var api = new ApiFactory(new Dictionary<string, string?>
                         { ["SystemApi:OperatorToken"] = "", ["SystemApi:OperatorTokenFile"] = file }))
            {
                api.Started();
                File.Exists(file).ShouldBeTrue();
                File.GetUnixFileMode(file).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
                token = (await File.ReadAllTextAsync(file)).Trim();
                token.Length.ShouldBeGreaterThanOrEqualTo(32);
                using var http = api.ClientWith(token);
                (await http.GetAsync(ApiRoutes.OperatorPrompts)).StatusCode.ShouldBe(HttpStatusCode.OK);
                (await File.ReadAllTextAsync(api.LogPath)).ShouldNotContain(token);
            }
            await using (var again = new ApiFactory(new Dictionary<string, string?>
                         { ["SystemApi:OperatorToken"] = "", ["SystemApi:OperatorTokenFile"] = file }))
            {
                using var http = again.ClientWith(token);
                (await http.GetAsync(ApiRoutes.OperatorPrompts)).StatusCode.ShouldBe(HttpStatusCode.OK);
                (await File.ReadAllTextAsync(file)).Trim().ShouldBe(token);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_configured_operator_token_replaces_the_file()
    {
        await using var api = new ApiFactory();
        using var http = api.ClientWith("some-other-token-that-is-long-enough");
        await (await http.GetAsync(ApiRoutes.OperatorPrompts)).ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
        using var op = api.ClientWith(ApiFactory.OperatorSecret);
        (await op.GetAsync(ApiRoutes.OperatorPrompts)).StatusCode.ShouldBe(HttpStatusCode.OK);
        File.Exists(Path.Combine(api.Root, "operator.token")).ShouldBeFalse();
    }

    [Fact]
    public async Task Too_many_requests_from_one_agent_are_rate_limited_with_a_retry_hint()
    {
        await using var api = new ApiFactory(new Dictionary<string, string?>
            { ["SystemApi:RateLimitPerSecond"] = "1", ["SystemApi:RateLimitBurst"] = "3" });
        var alice = await api.AgentTokenAsync("alice", 1000);
        var bob = await api.AgentTokenAsync("bob", 1000);
        using var http = api.ClientWith(alice);
        for (var i = 0; i < 3; i++) (await http.GetAsync(ApiRoutes.Balance)).StatusCode.ShouldBe(HttpStatusCode.OK);
        var before = await api.SnapshotAsync();

        var limited = await http.PostAsJsonAsync(ApiRoutes.Bids, new PlaceBidRequest(new ResourceBundleDto(100, 64, 0, 0), 5));

        await limited.ShouldBeProblemAsync(HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
        limited.Headers.RetryAfter.ShouldNotBeNull();
        (await api.SnapshotAsync()).ShouldBe(before);
        (await api.ClientWith(bob).GetAsync(ApiRoutes.Balance)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Unknown_routes_answer_with_problem_details()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 0);
        await (await api.ClientWith(token).GetAsync("/v1/nowhere")).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
    }
}
