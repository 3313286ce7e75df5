using System.Net;
using Npgsql;
using Sagas.Integration.Tests.Faults;
using Sagas.Integration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Sagas.Integration.Tests.Deployment;

/// <summary>
/// <c>docker compose up</c> as the README has it (compose/.env copied from compose/.env.example), without a container
/// engine: each service that compose builds from our Dockerfiles runs as the built host (Sagas.Api.dll or
/// Sagas.Worker.dll, named by the image's ENTRYPOINT) with exactly the environment its container would get: the
/// image's ENV, then the compose file's, interpolated from .env.example (docker-compose's own reading must agree where
/// it is installed). Only what a container engine provides is translated: the service names <c>postgres</c> and
/// <c>rabbitmq</c> with their credentials become this run's throwaway servers, a named volume's mount point a temporary
/// folder, port 8080 a free loopback port. Each must answer its compose health check (<c>/health/ready</c>, 200), and the
/// API must take the key the README documents for the example settings.
/// </summary>
public sealed class When_compose_starts_every_service_from_the_example_settings(ITestOutputHelper output) : IAsyncLifetime
{
    // The key whose SHA-256 compose/.env.example carries; the README's compose section calls the API with it.
    private const string ExampleApiKey = "change-me-api-key";

    private readonly PostgresDatabase _database = new();
    private readonly RabbitMqVirtualHost _broker = new();
    private readonly string _volumes = Path.Combine(Path.GetTempPath(), "sagas-compose-" + Guid.NewGuid().ToString("N")[..8]);

    internal static string Root
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Sagas.sln")))
                root = root.Parent;
            return root?.FullName ?? throw new InvalidOperationException("Sagas.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        await _broker.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _database.DisposeAsync();
        if (Directory.Exists(_volumes))
            Directory.Delete(_volumes, recursive: true);
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_bring_the_api_and_the_worker_to_ready_and_let_the_documented_key_call_the_api()
    {
        var composeFile = Path.Combine(Root, "compose", "docker-compose.yml");
        var envFile = Path.Combine(Root, "compose", ".env.example");
        var services = ComposeFile.Read(composeFile, ComposeFile.ReadEnvFile(envFile));
        var built = services.Values.Where(service => service.Dockerfile is not null).OrderBy(service => service.Name, StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { "api", "worker" }, built.Select(service => service.Name));

        if (await ComposeFile.ResolveWithDockerCompose(composeFile, envFile) is { } resolved)
        {
            foreach (var service in built)
                Assert.Equal(service.Environment.OrderBy(e => e.Key, StringComparer.Ordinal), resolved[service.Name].Environment.OrderBy(e => e.Key, StringComparer.Ordinal));
        }
        else
        {
            output.WriteLine("docker-compose not installed: the compose file was read by the spec's own reader only");
        }

        var started = new List<WorkerProcess>();
        try
        {
            // As compose does once postgres and rabbitmq are healthy: every built service at the same time.
            var starting = built.Select(service => StartAsync(services, service)).ToList();
            try
            {
                await Task.WhenAll(starting);
            }
            finally
            {
                started.AddRange(starting.Where(task => task.IsCompletedSuccessfully).Select(task => task.Result));
            }

            foreach (var (service, process) in built.Zip(started))
                await WaitForHealthCheckAsync(service, process);

            var api = started.Single(process => process.Name == "api");
            using var http = new HttpClient { BaseAddress = api.Address, Timeout = TimeSpan.FromSeconds(30) };
            using var anonymous = await http.GetAsync(new Uri("/api/llm-jobs", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/llm-jobs") { Headers = { { "X-Api-Key", ExampleApiKey } } };
            using var withKey = await http.SendAsync(request);
            Assert.True(withKey.StatusCode == HttpStatusCode.OK, $"GET /api/llm-jobs with the example key answered {(int)withKey.StatusCode}: {await withKey.Content.ReadAsStringAsync()}");
        }
        finally
        {
            foreach (var process in started)
                await process.DisposeAsync();
        }
    }

    private Task<WorkerProcess> StartAsync(IReadOnlyDictionary<string, ComposeService> services, ComposeService service)
    {
        var image = DockerImage.Read(service.Dockerfile!);
        var host = image.Entrypoint is ["dotnet", var dll]
            ? new[] { WorkerProcess.ApiAssemblyPath, WorkerProcess.AssemblyPath }.Single(path => Path.GetFileName(path) == dll)
            : throw new InvalidOperationException($"{service.Dockerfile}: ENTRYPOINT {string.Join(' ', image.Entrypoint)} is not dotnet <host>.dll");

        var environment = new Dictionary<string, string>(image.Environment, StringComparer.Ordinal);
        foreach (var (key, value) in service.Environment)
            environment[key] = value;

        // The container's port: WorkerProcess gives each process a free loopback URL of its own.
        environment.Remove("ASPNETCORE_URLS");
        foreach (var volume in service.Volumes.Select(mount => mount.Split(':')))
        {
            var folder = Directory.CreateDirectory(Path.Combine(_volumes, volume[0])).FullName;
            foreach (var key in environment.Keys.Where(key => environment[key] == volume[1] || environment[key].StartsWith(volume[1] + "/", StringComparison.Ordinal)).ToList())
                environment[key] = folder + environment[key][volume[1].Length..];
        }

        PointAtThisRunsPostgres(services, environment);
        PointAtThisRunsBroker(services, environment);
        return WorkerProcess.StartAsync(service.Name, environment, TimeSpan.FromSeconds(120), host);
    }

    /// <summary>The compose wiring must agree with itself (the postgres service's name, database and credentials) before it is swapped for this run's.</summary>
    private void PointAtThisRunsPostgres(IReadOnlyDictionary<string, ComposeService> services, Dictionary<string, string> environment)
    {
        var key = "Database__ConnectionString";
        var compose = new NpgsqlConnectionStringBuilder(environment[key]);
        var postgres = Assert.Contains(compose.Host!, services);
        Assert.StartsWith("postgres", postgres.Image, StringComparison.Ordinal);
        Assert.Equal(
            (postgres.Environment["POSTGRES_DB"], postgres.Environment["POSTGRES_USER"], postgres.Environment["POSTGRES_PASSWORD"]),
            (compose.Database, compose.Username, compose.Password));

        var test = new NpgsqlConnectionStringBuilder(_database.ConnectionString);
        compose.Host = test.Host;
        compose.Port = test.Port;
        compose.Database = test.Database;
        compose.Username = test.Username;
        compose.Password = test.Password;
        environment[key] = compose.ConnectionString;
    }

    private void PointAtThisRunsBroker(IReadOnlyDictionary<string, ComposeService> services, Dictionary<string, string> environment)
    {
        const string prefix = "Messaging__RabbitMq__";
        var rabbitmq = Assert.Contains(environment[prefix + "Host"], services);
        Assert.StartsWith("rabbitmq", rabbitmq.Image, StringComparison.Ordinal);
        Assert.Equal(
            (rabbitmq.Environment["RABBITMQ_DEFAULT_USER"], rabbitmq.Environment["RABBITMQ_DEFAULT_PASS"]),
            (environment[prefix + "Username"], environment[prefix + "Password"]));

        var test = _broker.Address;
        var user = test.UserInfo.Split(':', 2);
        var virtualHost = Uri.UnescapeDataString(test.AbsolutePath.TrimStart('/'));
        environment[prefix + "Host"] = test.Host;
        environment[prefix + "Port"] = test.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment[prefix + "VirtualHost"] = virtualHost.Length == 0 ? "/" : virtualHost;
        environment[prefix + "Username"] = Uri.UnescapeDataString(user[0]);
        environment[prefix + "Password"] = user.Length > 1 ? Uri.UnescapeDataString(user[1]) : "";
    }

    /// <summary>The service's own compose health check: its probe URL's path on the process's address answers 200.</summary>
    private static async Task WaitForHealthCheckAsync(ComposeService service, WorkerProcess process)
    {
        var probe = service.HealthCheck.LastOrDefault(part => part.StartsWith("http", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"compose service {service.Name} has no HTTP health check");
        var url = new Uri(process.Address, new Uri(probe).PathAndQuery);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var last = "no answer";
        while (!deadline.IsCancellationRequested)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"{service.Name} exited:{Environment.NewLine}{process.Output}");
            try
            {
                using var response = await http.GetAsync(url, deadline.Token);
                if (response.StatusCode == HttpStatusCode.OK)
                    return;
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(deadline.Token)}";
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
            {
                last = exception.Message;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        throw new TimeoutException($"{service.Name}: {url} did not answer 200 within 90 s (last: {last}){Environment.NewLine}{process.Output}");
    }
}
