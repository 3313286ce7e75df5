using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Sagas.Workflows;

namespace Sagas.Components.Tests.Architecture;

/// <summary>
/// The layout docs/architecture.md draws: a workflow is one project that no other workflow references, shared
/// infrastructure names no workflow, and the hosts reach the workflows only through the catalog in Sagas.Workflows.
/// </summary>
public sealed class When_the_projects_reference_each_other
{
    private const string Catalog = "Sagas.Workflows";
    private static readonly string[] Hosts = ["Sagas.Api", "Sagas.Worker"];

    private static readonly IReadOnlySet<string> Workflows =
        SagasWorkflows.Modules.Select(module => module.Assembly.GetName().Name!).ToHashSet(StringComparer.Ordinal);

    private static readonly Lazy<IReadOnlyDictionary<string, string[]>> ProjectReferences = new(ReadProjectReferences);

    [Fact]
    public void Should_find_every_workflow_project_and_the_catalog()
    {
        Assert.Equal(3, Workflows.Count);
        Assert.All(Workflows, workflow => Assert.Contains(workflow, ProjectReferences.Value.Keys));
        Assert.Contains(Catalog, ProjectReferences.Value.Keys);
    }

    [Fact]
    public void Should_keep_each_workflow_out_of_every_other_workflow()
    {
        foreach (var workflow in Workflows)
        {
            var reached = Reachable(workflow);
            Assert.True(!reached.Overlaps(Workflows), $"{workflow} references the workflow(s) {string.Join(", ", reached.Intersect(Workflows))}.");
        }
    }

    [Fact]
    public void Should_keep_shared_infrastructure_and_hosts_free_of_workflow_references()
    {
        foreach (var project in ProjectReferences.Value.Keys.Where(p => !Workflows.Contains(p) && p != Catalog && !Hosts.Contains(p)))
        {
            var reached = Reachable(project);
            Assert.True(!reached.Overlaps(Workflows) && !reached.Contains(Catalog),
                $"{project} is shared infrastructure but references {string.Join(", ", reached.Where(r => Workflows.Contains(r) || r == Catalog))}.");
        }

        foreach (var host in Hosts)
        {
            var direct = ProjectReferences.Value[host];
            Assert.True(!direct.Any(Workflows.Contains), $"{host} references a workflow project directly; it should list none and use {Catalog}.");
        }
    }

    [Theory]
    [InlineData("Sagas.Api")]
    [InlineData("Sagas.Worker")]
    [InlineData("Sagas.Hosting")]
    [InlineData("Sagas.Messaging")]
    [InlineData("Sagas.Modules")]
    [InlineData("Sagas.Notifications")]
    [InlineData("Sagas.Persistence")]
    [InlineData("Sagas.Storage")]
    [InlineData("Sagas.Transports.AmazonSqs")]
    [InlineData("Sagas.Core")]
    [InlineData("Sagas.Contracts")]
    public void Should_compile_hosts_and_infrastructure_without_any_workflow_type(string project)
    {
        // The compiler records an assembly reference only when the code uses one of its types. Read, not loaded: the
        // hosts' builds sit beside this test's output, built in the same configuration.
        var output = new DirectoryInfo(AppContext.BaseDirectory);
        var path = Path.Combine(RepositoryRoot.FullName, "src", project, "bin", output.Parent!.Name, output.Name, project + ".dll");
        using var stream = File.OpenRead(path);
        using var image = new PEReader(stream);
        var metadata = image.GetMetadataReader();
        var used = metadata.AssemblyReferences
            .Select(handle => metadata.GetString(metadata.GetAssemblyReference(handle).Name))
            .Where(Workflows.Contains)
            .ToList();
        Assert.True(used.Count == 0, $"{project} uses types of {string.Join(", ", used)}.");
    }

    private static HashSet<string> Reachable(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(ProjectReferences.Value[project]);
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next))
            {
                foreach (var reference in ProjectReferences.Value.GetValueOrDefault(next, []))
                    pending.Push(reference);
            }
        }

        return seen;
    }

    internal static DirectoryInfo RepositoryRoot
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Sagas.sln")))
                root = root.Parent;
            return root ?? throw new InvalidOperationException("Sagas.sln not found above " + AppContext.BaseDirectory);
        }
    }

    private static IReadOnlyDictionary<string, string[]> ReadProjectReferences() =>
        Directory.GetFiles(Path.Combine(RepositoryRoot.FullName, "src"), "*.csproj", SearchOption.AllDirectories)
            .ToDictionary(
                path => Path.GetFileNameWithoutExtension(path),
                path => XDocument.Load(path).Descendants("ProjectReference")
                    .Select(reference => Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value.Replace('\\', '/')))
                    .ToArray(),
                StringComparer.Ordinal);
}
