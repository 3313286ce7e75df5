using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using Sagas.Core.Configuration;

namespace Sagas.Hosting;

/// <summary>Runs a host and turns configuration mistakes into a readable message and exit code 78 (EX_CONFIG).</summary>
public static class SagasHost
{
    public const int ConfigurationErrorExitCode = 78;

    public static int Run(string[] args, Func<string[], WebApplication> build)
    {
        try
        {
            using var app = build(args);
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
    }

    private static int Refuse(string reason)
    {
        Console.Error.WriteLine($"Sagas cannot start: {reason}");
        return ConfigurationErrorExitCode;
    }
}
