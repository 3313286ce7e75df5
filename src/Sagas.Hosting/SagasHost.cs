using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sagas.Core.Configuration;

namespace Sagas.Hosting;

/// <summary>Runs a host and turns configuration mistakes into a readable message and exit code 78 (EX_CONFIG).</summary>
public static class SagasHost
{
    public const int ConfigurationErrorExitCode = 78;

    public static int Run(string[] args, Func<string[], WebApplication> build)
    {
        // Container images carry no curl: the health check runs the host binary itself in probe mode.
        if (args is ["--probe", var url])
            return Probe(url);

        try
        {
            using var app = build(args);
            // The options validated on start, checked before the host starts: a bad value then ends here as sentences,
            // not after the host has logged its failure to start with a stack trace.
            app.Services.GetService<IStartupValidator>()?.Validate();
            app.Run();
            return 0;
        }
        catch (SagasConfigurationException exception)
        {
            return Refuse(exception.Message);
        }
        catch (OptionsValidationException exception)
        {
            return Refuse(string.Join(" ", exception.Failures));
        }
        catch (AggregateException exception) when (exception.Flatten().InnerExceptions.All(inner => inner is OptionsValidationException))
        {
            // Several sections failed at once: one sentence per problem, section after section.
            return Refuse(string.Join(" ", exception.Flatten().InnerExceptions.Cast<OptionsValidationException>().SelectMany(inner => inner.Failures)));
        }
    }

    private static int Probe(string url)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
            using var response = http.GetAsync(new Uri(url)).GetAwaiter().GetResult();
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            Console.Error.WriteLine($"probe {url} failed: {exception.Message}");
            return 1;
        }
    }

    private static int Refuse(string reason)
    {
        Console.Error.WriteLine($"Sagas cannot start: {reason}");
        return ConfigurationErrorExitCode;
    }
}
