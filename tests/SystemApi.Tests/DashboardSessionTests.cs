using System.Net;
using CyAgents.Contracts;
using CyAgents.SystemApi.Tests.Infrastructure;

namespace CyAgents.SystemApi.Tests;

/// <summary>
/// The dashboard's session cookie (ADR 0128): minted only with the operator's bearer token, HttpOnly and SameSite=Strict, and
/// accepted for nothing but reading the event stream.
/// </summary>
public sealed class DashboardSessionTests : IDisposable
{
    private readonly ApiFactory _api = new();

    public void Dispose() => _api.Dispose();

    private async Task<string> OpenAsync()
    {
        var response = await _api.ClientWith(ApiFactory.OperatorSecret).PostAsync(ApiRoutes.OperatorSession, null);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var cookie = response.Headers.GetValues("Set-Cookie").Single();
        cookie.ShouldStartWith("cyagents_session=");
        cookie.ShouldContain("httponly", Case.Insensitive);
        cookie.ShouldContain("samesite=strict", Case.Insensitive);
        cookie.ShouldContain("path=/v1/events", Case.Insensitive);
        return cookie[..cookie.IndexOf(';')];
    }

    private HttpRequestMessage WithCookie(HttpMethod method, string url, string cookie)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Cookie", cookie);
        return request;
    }

    [Fact]
    public async Task The_cookie_opens_the_event_stream()
    {
        var cookie = await OpenAsync();
        using var client = _api.ClientWith(null);
        using var response = await client.SendAsync(WithCookie(HttpMethod.Get, "/v1/events", cookie), HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
    }

    [Theory]
    [InlineData("GET", "/v1/agents")]
    [InlineData("GET", "/v1/operator/prompts")]
    [InlineData("POST", "/v1/operator/session")]
    public async Task The_cookie_is_not_a_token_for_anything_else(string method, string url)
    {
        var cookie = await OpenAsync();
        var response = await _api.ClientWith(null).SendAsync(WithCookie(new HttpMethod(method), url, cookie));
        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task An_agent_cannot_open_a_session_and_a_made_up_cookie_is_refused()
    {
        var ada = await _api.AgentTokenAsync("ada");
        await (await _api.ClientWith(ada).PostAsync(ApiRoutes.OperatorSession, null)).ShouldBeProblemAsync(HttpStatusCode.Forbidden, ErrorCodes.Forbidden);
        var response = await _api.ClientWith(null).SendAsync(WithCookie(HttpMethod.Get, "/v1/events", "cyagents_session=guessed-value"));
        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }

    [Fact]
    public async Task An_ended_session_no_longer_opens_the_stream()
    {
        var cookie = await OpenAsync();
        var close = WithCookie(HttpMethod.Delete, ApiRoutes.OperatorSession, cookie);
        close.Headers.Authorization = new("Bearer", ApiFactory.OperatorSecret);
        (await _api.ClientWith(null).SendAsync(close)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var response = await _api.ClientWith(null).SendAsync(WithCookie(HttpMethod.Get, "/v1/events", cookie));
        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated);
    }
}
