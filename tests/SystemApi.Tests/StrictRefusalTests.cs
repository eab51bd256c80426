using System.Net;
using System.Net.Http.Json;
using System.Text;
using CyAgents.Contracts;
using CyAgents.Persistence.Records;
using CyAgents.SystemApi.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// Every refusal found by the adversarial probe: a clear 4xx with its own stable code, and nothing changed (balances,
/// transfers, row counts and workspace folders as before).
/// </summary>
public class StrictRefusalTests
{
    private const string Bid = """{"bundle":{"cpuMillicores":100,"memoryMiB":64,"tokens":0,"attentionBasisPoints":0},"amount":10}""";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<string> AskAsync(ApiFactory api, string token) =>
        (await (await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest("a question")))
            .Content.ReadFromJsonAsync<PromptResponse>())!.Id;

    [Fact]
    public async Task The_operator_asking_for_the_transactions_of_an_unknown_agent_gets_404_like_the_balance()
    {
        await using var api = new ApiFactory();
        await api.SeedAgentAsync("alice", 100);
        var before = await api.SnapshotAsync();
        var op = api.ClientWith(ApiFactory.OperatorSecret);

        await (await op.GetAsync(ApiRoutes.Transactions + "?agentId=nobody")).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
        await (await op.GetAsync(ApiRoutes.Balance + "?agentId=nobody")).ShouldBeProblemAsync(HttpStatusCode.NotFound, ErrorCodes.NotFound);
        (await op.GetAsync(ApiRoutes.Transactions + "?agentId=alice")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    public static TheoryData<string> HostileCharacters => new() { "\0", "\u001b[2J", "\a", "\r", "\u007f", "\u009b", "\u202e", "\u2066", "\u2069", "\u202a" };

    [Theory]
    [MemberData(nameof(HostileCharacters))]
    public async Task A_question_with_a_control_or_bidi_character_is_refused_and_changes_nothing(string hostile)
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 100);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Prompts, new AskPromptRequest($"pay me{hostile} now"));

        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors("question").ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [MemberData(nameof(HostileCharacters))]
    public async Task An_answer_with_a_control_or_bidi_character_is_refused_and_changes_nothing(string hostile)
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 100);
        var prompt = await AskAsync(api, token);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(ApiFactory.OperatorSecret).PostAsJsonAsync(ApiRoutes.AnswerPrompt(prompt),
            new AnswerPromptRequest($"ye{hostile}s", 5));

        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors("answer").ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [MemberData(nameof(HostileCharacters))]
    [InlineData("\n")]
    [InlineData("\t")]
    public async Task A_spawn_name_with_a_control_or_bidi_character_is_refused_by_the_same_rule(string hostile)
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsJsonAsync(ApiRoutes.Spawn, new SpawnRequest($"ki{hostile}d", 100));

        (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).FieldErrors("name").ShouldNotBeEmpty();
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Newlines_and_tabs_are_fine_in_questions_and_answers()
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 100);
        var asked = await api.TypedClient(token).AskAsync(new AskPromptRequest("line one\n\tline two"));
        var answered = await api.TypedClient(ApiFactory.OperatorSecret).AnswerPromptAsync(asked.Id, new AnswerPromptRequest("a\nb\tc", 0));
        answered.Answer.ShouldBe("a\nb\tc");
    }

    [Fact]
    public async Task An_answer_without_a_reward_is_refused_and_changes_nothing()
    {
        await using var api = new ApiFactory();
        var token = await api.AskerTokenAsync("alice", 100);
        var prompt = await AskAsync(api, token);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(ApiFactory.OperatorSecret).PostAsync(ApiRoutes.AnswerPrompt(prompt), Json("""{"answer":"yes"}"""));

        var problem = await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        problem.GetProperty("detail").GetString()!.ShouldContain("reward");
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    public static TheoryData<string, string, bool> EveryBody => new()
    {
        { ApiRoutes.Bids, """{"amount":10,"bundle":{"cpuMillicores":100,"memoryMiB":64,"tokens":0,"attentionBasisPoints":0}}""", false },
        { ApiRoutes.Spawn, """{"name":"kid","endowment":100}""", false },
        { ApiRoutes.Prompts, """{"question":"why?"}""", false },
        { ApiRoutes.LlmComplete, """{"prompt":"hi","maxTokens":5}""", false },
        { ApiRoutes.AnswerPrompt("prm-x"), """{"answer":"yes","reward":1}""", true },
    };

    [Theory]
    [MemberData(nameof(EveryBody))]
    public async Task A_body_that_is_not_json_is_refused_with_415_and_changes_nothing(string path, string body, bool asOperator)
    {
        await using var api = new ApiFactory();
        var token = asOperator ? ApiFactory.OperatorSecret : await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsync(path, new StringContent(body, Encoding.UTF8, "text/plain"));

        await response.ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType, ErrorCodes.UnsupportedMediaType);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Theory]
    [MemberData(nameof(EveryBody))]
    public async Task Duplicate_properties_quoted_numbers_and_unknown_properties_are_refused_in_every_body(string path, string body, bool asOperator)
    {
        await using var api = new ApiFactory();
        var token = asOperator ? ApiFactory.OperatorSecret : await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();
        var client = api.ClientWith(token);
        // The first property of each body, repeated; then every number sent as a string; then a property the schema lacks.
        var firstProperty = body[1..(body.IndexOf(',') is var comma and > 0 ? comma : body.Length - 1)];
        var duplicate = "{" + firstProperty + "," + body[1..];
        var quoted = System.Text.RegularExpressions.Regex.Replace(body, @":(-?\d+)", ":\"$1\"");
        var unknown = body[..^1] + ""","isAdmin":true}""";

        foreach (var bad in new[] { duplicate, quoted, unknown }.Where(b => b != body))
        {
            var response = await client.PostAsync(path, Json(bad));
            (await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation)).GetProperty("detail").GetString()
                .ShouldNotBeNullOrEmpty(bad);
        }
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_nested_bundle_with_a_duplicate_or_quoted_quantity_is_refused()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();
        var client = api.ClientWith(token);

        foreach (var bad in new[]
                 {
                     """{"bundle":{"cpuMillicores":100,"cpuMillicores":5000,"memoryMiB":64,"tokens":0,"attentionBasisPoints":0},"amount":10}""",
                     """{"bundle":{"cpuMillicores":"100","memoryMiB":64,"tokens":0,"attentionBasisPoints":0},"amount":10}""",
                     """{"bundle":{"cpuMillicores":100,"memoryMiB":64,"tokens":0,"attentionBasisPoints":0,"gpu":1},"amount":10}""",
                 })
            await (await client.PostAsync(ApiRoutes.Bids, Json(bad))).ShouldBeProblemAsync(HttpStatusCode.BadRequest, ErrorCodes.Validation);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_request_target_beyond_the_limit_is_refused_with_414_as_problem_details()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();

        var response = await api.ClientWith(token).PostAsync(ApiRoutes.Bids + "?pad=" + new string('x', 5000), Json(Bid));

        await response.ShouldBeProblemAsync(HttpStatusCode.RequestUriTooLong, ErrorCodes.UriTooLong);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task Headers_beyond_the_limits_are_refused_with_431_as_problem_details()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();

        var big = new HttpRequestMessage(HttpMethod.Post, ApiRoutes.Bids) { Content = Json(Bid) };
        big.Headers.Add("X-Pad", new string('x', 20_000));
        await (await api.ClientWith(token).SendAsync(big)).ShouldBeProblemAsync(HttpStatusCode.RequestHeaderFieldsTooLarge, ErrorCodes.HeadersTooLarge);

        var many = new HttpRequestMessage(HttpMethod.Post, ApiRoutes.Bids) { Content = Json(Bid) };
        for (var i = 0; i < 70; i++) many.Headers.Add($"X-Pad-{i}", "x");
        await (await api.ClientWith(token).SendAsync(many)).ShouldBeProblemAsync(HttpStatusCode.RequestHeaderFieldsTooLarge, ErrorCodes.HeadersTooLarge);
        (await api.SnapshotAsync()).ShouldBe(before);
    }

    [Fact]
    public async Task A_wrong_method_has_its_own_code()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        var response = await api.ClientWith(token).DeleteAsync(ApiRoutes.Bids);
        await response.ShouldBeProblemAsync(HttpStatusCode.MethodNotAllowed, ErrorCodes.MethodNotAllowed);
    }

    [Fact]
    public async Task Requests_without_a_valid_token_are_rate_limited_per_source_and_agents_are_not_affected()
    {
        await using var api = new ApiFactory(new Dictionary<string, string?>
        {
            ["SystemApi:AnonymousRateLimitPerSecond"] = "1", ["SystemApi:AnonymousRateLimitBurst"] = "3",
        });
        var token = await api.AgentTokenAsync("alice", 1000);
        var before = await api.SnapshotAsync();
        var anonymous = api.ClientWith(null);
        var guesser = api.ClientWith("not-a-token-at-all");

        for (var i = 0; i < 3; i++)
            (await (i % 2 == 0 ? anonymous : guesser).GetAsync(ApiRoutes.MarketPrices)).StatusCode.ShouldBe(HttpStatusCode.OK);
        // The bucket (burst 3, 1 per second) is shared by anonymous and failed-authentication requests of one source.
        var more = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++) more.Add(await (i % 2 == 0 ? guesser.PostAsync(ApiRoutes.Bids, Json(Bid)) : anonymous.GetAsync(ApiRoutes.MarketPrices)));

        var limited = more.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        limited.Count.ShouldBeGreaterThanOrEqualTo(3);
        await limited[0].ShouldBeProblemAsync(HttpStatusCode.TooManyRequests, ErrorCodes.RateLimited);
        limited[0].Headers.RetryAfter.ShouldNotBeNull();
        (await api.SnapshotAsync()).ShouldBe(before);
        (await api.ClientWith(token).GetAsync(ApiRoutes.MarketPrices)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_retired_agent_may_not_bid_spawn_or_ask_and_nothing_changes()
    {
        await using var api = new ApiFactory();
        var token = await api.AgentTokenAsync("alice", 1000);
        await using (var db = await api.DbAsync())
        {
            var alice = await db.Set<AgentRecord>().SingleAsync(a => a.Id == "alice");
            alice.Status = AgentStatus.Retired;
            await db.SaveChangesAsync();
        }
        var before = await api.SnapshotAsync();
        var client = api.ClientWith(token);

        foreach (var (path, body) in new[] { (ApiRoutes.Bids, Bid), (ApiRoutes.Spawn, """{"name":"kid","endowment":100}"""), (ApiRoutes.Prompts, """{"question":"why?"}""") })
        {
            var problem = await (await client.PostAsync(path, Json(body))).ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.AgentRetired);
            problem.GetProperty("detail").GetString()!.ShouldContain("retired");
        }
        (await api.SnapshotAsync()).ShouldBe(before);
    }
}
