using Microsoft.Extensions.Options;

namespace CyAgents.SystemApi.Hosting;

/// <summary>
/// Validates an options class bound from one configuration section at start. The check returns messages that begin with
/// the property's name ("Eta must be ..."); prefixed with the section they name the configuration key a user must fix
/// ("Market:Pricing:Eta must be ...").
/// </summary>
public sealed class SectionValidation<T>(string section, Func<T, IEnumerable<string>> check) : IValidateOptions<T> where T : class
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var errors = check(options).Select(e => $"{section}:{e}").ToList();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Registration of <see cref="SectionValidation{T}"/>.</summary>
public static class SectionValidationExtensions
{
    /// <summary>Binds <typeparamref name="T"/> to <paramref name="section"/> once and checks it when the host starts.</summary>
    public static OptionsBuilder<T> BindValidated<T>(this IServiceCollection services, IConfiguration configuration, string section,
        Func<T, IEnumerable<string>> check) where T : class
    {
        services.AddSingleton<IValidateOptions<T>>(new SectionValidation<T>(section, check));
        return services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }
}
