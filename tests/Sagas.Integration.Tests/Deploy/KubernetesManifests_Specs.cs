using System.Collections.Concurrent;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.Deploy;

/// <summary>
/// deploy/kubernetes, checked offline: each overlay renders with <c>kubectl kustomize</c>, every object validates
/// against the Kubernetes and KEDA schemas (npm <c>kubernetes-models</c>), and the objects agree with the code: one
/// Deployment per worker role the hosts know, probes on the health endpoints, a disruption budget per Deployment, and
/// every queue a KEDA trigger watches is a queue its Deployment's role actually consumes.
/// </summary>
public sealed class When_the_kubernetes_manifests_are_rendered
{
    private static readonly NpmPackages Validators = new(
        NpmPackages.DefaultCacheFolder("SAGAS_K8S_VALIDATORS_CACHE", "kubernetes-validators-5.1.0"),
        ("kubernetes-models", "5.1.0"), ("@kubernetes-models/keda", "2.0.0"), ("js-yaml", "4.1.0"));

    // Reads the rendered YAML on stdin; every object must have a schema here (an unknown kind is an error, not a pass).
    private const string ValidateScript = """
        import yaml from "js-yaml";
        const chunks = [];
        for await (const chunk of process.stdin) chunks.push(chunk);
        const objects = yaml.loadAll(Buffer.concat(chunks).toString("utf8")).filter(Boolean);
        const errors = [];
        for (const object of objects) {
          // kustomize folds long base64 values over lines; Kubernetes' decoder skips the line breaks, the schema does not.
          if (object.kind === "Secret" && object.data)
            for (const key of Object.keys(object.data)) object.data[key] = object.data[key].replace(/\s+/g, "");
          const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : [null, object.apiVersion];
          const module = group === "keda.sh"
            ? `@kubernetes-models/keda/keda.sh/${version}/${object.kind}`
            : `kubernetes-models/${group ? group + "/" : ""}${version}/${object.kind}`;
          const where = `${object.kind} ${object.metadata?.name}`;
          try {
            const models = await import(module);
            new models[object.kind](object).validate();
          } catch (error) {
            errors.push(`${where}: ${String(error.message ?? error).slice(0, 500)}`);
          }
        }
        process.stdout.write(JSON.stringify({ objects, errors }));
        """;

    public static TheoryData<string> Overlays => new() { "example", "aws" };

    [KubernetesTheory]
    [MemberData(nameof(Overlays))]
    public async Task Should_render_objects_the_kubernetes_and_keda_schemas_accept(string overlay)
    {
        var (_, errors) = await RenderAsync(overlay);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [KubernetesTheory]
    [MemberData(nameof(Overlays))]
    public async Task Should_run_each_worker_role_in_its_own_deployment_with_health_probes_and_a_disruption_budget(string overlay)
    {
        var (objects, _) = await RenderAsync(overlay);
        var deployments = Of(objects, "Deployment");
        var roles = SagasHostingExtensions.KnownRoles(SagasWorkflows.Catalog).Select(r => r.Name).Order().ToArray();

        var byRole = deployments.Select(d => (Name: Name(d), Role: Env(d, "Worker__Roles"))).ToArray();
        Assert.Equal(roles, byRole.Where(d => d.Role != "none").Select(d => d.Role).Order().ToArray());
        Assert.Single(byRole, d => d.Role == "none");

        var budgets = Of(objects, "PodDisruptionBudget");
        foreach (var deployment in deployments)
        {
            var container = Container(deployment);
            Assert.Equal("/health/live", container.GetProperty("livenessProbe").GetProperty("httpGet").GetProperty("path").GetString());
            Assert.Equal("/health/ready", container.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("path").GetString());
            Assert.Contains(container.GetProperty("ports").EnumerateArray(), p => p.GetProperty("containerPort").GetInt32() == 8080);
            Assert.True(container.GetProperty("resources").GetProperty("requests").TryGetProperty("memory", out _), $"{Name(deployment)} requests no memory");

            var podLabels = Labels(deployment.GetProperty("spec").GetProperty("template").GetProperty("metadata"));
            Assert.Single(budgets, b => b.GetProperty("spec").GetProperty("selector").GetProperty("matchLabels").EnumerateObject()
                .All(label => podLabels.GetValueOrDefault(label.Name) == label.Value.GetString()));
        }
    }

    [KubernetesTheory]
    [MemberData(nameof(Overlays))]
    public async Task Should_scale_each_role_on_queues_that_role_consumes(string overlay)
    {
        var (objects, _) = await RenderAsync(overlay);
        var deployments = Of(objects, "Deployment").ToDictionary(Name, d => Env(d, "Worker__Roles"));
        var prefix = overlay == "aws" ? ConfigMapValue(objects, "Messaging__AmazonSqs__Prefix") : "";
        var scaled = Of(objects, "ScaledObject");
        Assert.NotEmpty(scaled);
        Assert.Single(Of(objects, "TriggerAuthentication"));

        foreach (var scaledObject in scaled)
        {
            var target = scaledObject.GetProperty("spec").GetProperty("scaleTargetRef").GetProperty("name").GetString()!;
            Assert.True(deployments.TryGetValue(target, out var role), $"ScaledObject {Name(scaledObject)} targets {target}, which is not a Deployment");
            var queues = await QueuesOfRoleAsync(role!);
            foreach (var trigger in scaledObject.GetProperty("spec").GetProperty("triggers").EnumerateArray())
            {
                var metadata = trigger.GetProperty("metadata");
                var queue = trigger.GetProperty("type").GetString() switch
                {
                    "rabbitmq" => metadata.GetProperty("queueName").GetString()!,
                    "aws-sqs-queue" => metadata.GetProperty("queueURL").GetString()!.Split('/')[^1],
                    var other => throw new Xunit.Sdk.XunitException($"{Name(scaledObject)}: trigger type {other} is not one the docs describe"),
                };
                Assert.StartsWith(prefix, queue);
                Assert.True(queues.Contains(queue[prefix.Length..]),
                    $"{Name(scaledObject)} watches '{queue}', but role {role} consumes only {string.Join(", ", queues.Order())}");
            }
        }
    }

    private static readonly ConcurrentDictionary<string, Lazy<Task<HashSet<string>>>> RoleQueues = new();

    /// <summary>The receive endpoints a process with <paramref name="role"/> opens, from the hosts' own composition.</summary>
    private static Task<HashSet<string>> QueuesOfRoleAsync(string role) =>
        RoleQueues.GetOrAdd(role, r => new Lazy<Task<HashSet<string>>>(() => StartRoleAsync(r))).Value;

    private static async Task<HashSet<string>> StartRoleAsync(string role)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-k8s-roles-" + Guid.NewGuid().ToString("N"));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development", DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:DataDirectory"] = dataDirectory,
            ["Worker:Roles"] = role,
            // The webhook queues exist only while an endpoint is configured.
            ["Notifications:Webhooks:0:Name"] = "k8s-check",
            ["Notifications:Webhooks:0:Url"] = "https://receiver.example.com/hooks",
            ["Notifications:Webhooks:0:Secret"] = "whsec_" + Convert.ToBase64String(new byte[32]),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        var queues = new ConcurrentBag<string>();
        builder.AddSagas("k8s-check", SagasWorkflows.Catalog);
        using var host = builder.Build();
        var bus = host.Services.GetRequiredService<IBusControl>();
        bus.ConnectReceiveEndpointObserver(new EndpointNames(queues));
        await host.StartAsync();
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            while (bus.CheckHealth().Status != BusHealthStatus.Healthy)
                await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
            await host.StopAsync();
        }
        finally
        {
            if (Directory.Exists(dataDirectory))
                Directory.Delete(dataDirectory, recursive: true);
        }

        return [.. queues];
    }

    private sealed class EndpointNames(ConcurrentBag<string> names) : IReceiveEndpointObserver
    {
        public Task Ready(ReceiveEndpointReady ready)
        {
            names.Add(ready.InputAddress.AbsolutePath.Trim('/').Split('/')[^1]);
            return Task.CompletedTask;
        }

        public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

        public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

        public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;
    }

    private static async Task<(JsonElement[] Objects, List<string> Errors)> RenderAsync(string overlay)
    {
        var folder = Path.Combine(RepositoryRoot(), "deploy", "kubernetes", "overlays", overlay);
        var (exitCode, rendered, renderErrors) = await NpmPackages.RunAsync(
            NpmPackages.FindOnPath("kubectl")!, ["kustomize", folder], folder, TimeSpan.FromMinutes(2));
        Assert.True(exitCode == 0, $"kubectl kustomize {overlay} failed: {renderErrors}");

        await Validators.EnsureInstalledAsync();
        var script = await Validators.WriteScriptAsync("validate-manifests.mjs", ValidateScript);
        var (validated, output, errors) = await NpmPackages.RunAsync(NpmPackages.Node!, [script], Validators.CacheFolder, TimeSpan.FromMinutes(2), rendered);
        Assert.True(validated == 0, $"the validator failed: {errors}");
        using var document = JsonDocument.Parse(output);
        var objects = document.RootElement.GetProperty("objects").EnumerateArray().Select(o => o.Clone()).ToArray();
        var problems = document.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToList();
        return (objects, problems);
    }

    private static JsonElement[] Of(JsonElement[] objects, string kind) => [.. objects.Where(o => o.GetProperty("kind").GetString() == kind)];

    private static string Name(JsonElement o) => o.GetProperty("metadata").GetProperty("name").GetString()!;

    private static JsonElement Container(JsonElement deployment) =>
        deployment.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0];

    private static string Env(JsonElement deployment, string name) =>
        Container(deployment).GetProperty("env").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name).GetProperty("value").GetString()!;

    private static Dictionary<string, string?> Labels(JsonElement metadata) =>
        metadata.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());

    private static string ConfigMapValue(JsonElement[] objects, string key) =>
        Of(objects, "ConfigMap").Single().GetProperty("data").GetProperty(key).GetString()!;

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Sagas.sln")))
                return directory.FullName;
        }

        throw new InvalidOperationException("Sagas.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Needs kubectl (for kustomize) and node; skipped outside CI when either is missing, never skipped with CI=true.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KubernetesTheoryAttribute : TheoryAttribute
{
    public KubernetesTheoryAttribute()
    {
        if (!TestServers.Required && (NpmPackages.FindOnPath("kubectl") is null || NpmPackages.Node is null))
            Skip = "needs kubectl and node to render and validate deploy/kubernetes";
    }
}
