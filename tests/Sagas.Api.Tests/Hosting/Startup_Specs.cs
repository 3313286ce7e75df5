using Sagas.Hosting;

namespace Sagas.Api.Tests.Hosting;

// Console.Error is process-wide: these specs must not run beside each other.
[Collection(nameof(ConsoleCapture))]
public sealed class When_the_configuration_cannot_work
{
    [Fact]
    public void Should_refuse_amazon_sqs_without_a_region_naming_the_key()
    {
        var (exitCode, error) = Start("--Messaging:Transport=AmazonSqs");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Contains("Messaging:AmazonSqs:Region", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_an_unknown_transport_naming_the_allowed_values()
    {
        var (exitCode, error) = Start("--Messaging:Transport=Kafka");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Contains("'Kafka'", error, StringComparison.Ordinal);
        Assert.Contains("InMemory, RabbitMq, AmazonSqs", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_an_unknown_worker_role()
    {
        var (exitCode, error) = Start("--Worker:Roles=llm-jobs,scan-everything");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Contains("'scan-everything'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_malformed_broker_address()
    {
        var (exitCode, error) = Start("--Messaging:Transport=RabbitMq", "--Messaging:RabbitMq:Uri=http://broker");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Contains("amqp://", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_to_run_outside_development_without_authentication()
    {
        var (exitCode, error) = Start("--environment=Production");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Contains("Security:ApiKeys", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_an_unauthenticated_development_api_on_a_public_address()
    {
        var (exitCode, error) = Start("--environment=Development", "--urls=http://0.0.0.0:5080");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Contains("http://0.0.0.0:5080", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_an_api_key_given_in_clear_instead_of_its_hash()
    {
        var (exitCode, error) = Start("--Security:ApiKeys:0:Name=ops", "--Security:ApiKeys:0:Sha256=my-secret-key");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Contains("64-character hex SHA-256", error, StringComparison.Ordinal);
        Assert.DoesNotContain("my-secret-key", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_webhook_endpoint_with_a_bad_url_or_secret_without_echoing_the_secret()
    {
        var (exitCode, error) = Start(
            "--Notifications:Webhooks:0:Name=crm",
            "--Notifications:Webhooks:0:Url=ftp://hooks.example.com",
            "--Notifications:Webhooks:0:Secret=whsec_c2hvcnQtc2VjcmV0");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Contains("Notifications:Webhooks:0 ('crm'):Url", error, StringComparison.Ordinal);
        Assert.Contains("Notifications:Webhooks:0 ('crm'):Secret", error, StringComparison.Ordinal);
        Assert.DoesNotContain("c2hvcnQtc2VjcmV0", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_setting_out_of_its_range_naming_the_full_key()
    {
        var (exitCode, error) = Start("--Messaging:Transport=RabbitMq", "--Messaging:RabbitMq:PrefetchCount=0");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Equal("Sagas cannot start: Messaging:RabbitMq:PrefetchCount is 0; it must be between 1 and 10000.", error.Trim());
    }

    // Development: outside it the missing authentication is refused while the host is built, before the sections
    // validated on start are checked.
    [Fact]
    public void Should_refuse_a_value_that_does_not_convert_naming_the_key()
    {
        var (exitCode, error) = Start("--environment=Development", "--Api:Realtime:SendQueueCapacity=lots");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.Equal("Sagas cannot start: Api:Realtime:SendQueueCapacity is 'lots', which is not a whole number.", error.Trim());
    }

    // Two sections nothing resolves while the host is built, so that both reach the start-up check together.
    [Fact]
    public void Should_refuse_bad_values_of_several_sections_validated_on_start_in_one_message()
    {
        var (exitCode, error) = Start("--environment=Development", "--Outbox:BatchSize=0", "--Api:ScanSessions:MaxFilesPerUpload=0");

        Assert.Equal(SagasHost.ConfigurationErrorExitCode, exitCode);
        Assert.StartsWith("Sagas cannot start: ", error, StringComparison.Ordinal);
        Assert.Contains("Outbox:BatchSize is 0; it must be a positive number.", error, StringComparison.Ordinal);
        Assert.Contains("Api:ScanSessions:MaxFilesPerUpload is 0; it must be between 1 and 100000.", error, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", error, StringComparison.Ordinal);
    }

    private static (int ExitCode, string Error) Start(params string[] args)
    {
        var original = Console.Error;
        using var captured = new StringWriter();
        Console.SetError(captured);
        try
        {
            var exitCode = SagasHost.Run([.. args, "--Database:DataDirectory=" + Path.Combine(Path.GetTempPath(), "sagas-startup-specs")], ApiApplication.Build);
            return (exitCode, captured.ToString());
        }
        finally
        {
            Console.SetError(original);
        }
    }
}

[CollectionDefinition(nameof(ConsoleCapture), DisableParallelization = true)]
public sealed class ConsoleCapture;
