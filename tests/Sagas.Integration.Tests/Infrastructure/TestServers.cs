namespace Sagas.Integration.Tests.Infrastructure;

/// <summary>
/// Addresses of the real servers the integration tests use, as provided by tests/run-tests.sh
/// (or by the developer through the same environment variables).
/// </summary>
public static class TestServers
{
    public const string PostgresVariable = "SAGAS_TEST_POSTGRES";
    public const string RabbitMqVariable = "SAGAS_TEST_RABBITMQ";

    public static string? Postgres => Read(PostgresVariable);

    public static string? RabbitMq => Read(RabbitMqVariable);

    /// <summary>Script that runs rabbitmqctl against the throwaway broker (fault tests stop and start it).</summary>
    public static string? RabbitMqCtl => Read("SAGAS_TEST_RABBITMQ_CTL");

    /// <summary>In CI a missing server is a failure, never a skip.</summary>
    public static bool Required => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string RequirePostgres() =>
        Postgres ?? throw new InvalidOperationException(
            $"{PostgresVariable} is not set. Run tests/run-tests.sh, which starts a throwaway PostgreSQL, or set it to an Npgsql connection string.");

    public static string RequireRabbitMq() =>
        RabbitMq ?? throw new InvalidOperationException(
            $"{RabbitMqVariable} is not set. Run tests/run-tests.sh, which starts a throwaway RabbitMQ, or set it to an amqp:// URI.");

    private static string? Read(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }
}

/// <summary>
/// A fact that needs PostgreSQL and/or RabbitMQ. Outside CI it is skipped when the server address is missing,
/// so a plain <c>dotnet test</c> on a laptop still runs everything else; with CI=true it always runs and fails loudly.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServerFactAttribute : FactAttribute
{
    public ServerFactAttribute(bool postgres = true, bool rabbitMq = false)
    {
        if (TestServers.Required)
            return;

        var missing = new List<string>();
        if (postgres && TestServers.Postgres is null)
            missing.Add(TestServers.PostgresVariable);
        if (rabbitMq && TestServers.RabbitMq is null)
            missing.Add(TestServers.RabbitMqVariable);
        if (missing.Count > 0)
            Skip = $"needs {string.Join(" and ", missing)} (tests/run-tests.sh provides them)";
    }
}
