using System.Net;
using System.Text.Json;

namespace CyAgents.SystemApi.Tests.Infrastructure;

/// <summary>Reads a response as problem details and checks its status and stable code.</summary>
public static class ProblemAssertions
{
    public static async Task<JsonElement> ShouldBeProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(status, text);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", text);
        var json = JsonDocument.Parse(text).RootElement;
        json.GetProperty("code").GetString().ShouldBe(code, text);
        json.GetProperty("status").GetInt32().ShouldBe((int)status);
        json.GetProperty("title").GetString().ShouldNotBeNullOrEmpty();
        return json;
    }

    public static string[] FieldErrors(this JsonElement problem, string field) =>
        problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()!).ToArray();
}
