using System.Text.RegularExpressions;

namespace Sagas.Components.Tests.Architecture;

/// <summary>
/// A state machine's events must go through the database outbox of the saga's transaction (PublishThroughOutbox): a
/// plain Publish leaves after the commit and is lost when the broker drops at that moment (docs/reliability.md).
/// Read from the sources, so it also covers a publish inside an activity's code.
/// </summary>
public sealed partial class When_a_workflow_state_machine_publishes
{
    [Fact]
    public void Should_publish_through_the_outbox()
    {
        var src = Path.Combine(When_the_projects_reference_each_other.RepositoryRoot.FullName, "src");
        var machines = Directory.GetFiles(src, "*StateMachine.cs", SearchOption.AllDirectories)
            .Where(path => Path.GetFileName(Path.GetDirectoryName(path)) == "StateMachines")
            .ToList();
        Assert.NotEmpty(machines);

        var plain = machines
            .SelectMany(path => File.ReadLines(path).Select((line, index) => (Path: Path.GetRelativePath(src, path), Line: index + 1, Text: line.Trim())))
            .Where(line => PlainPublish().IsMatch(line.Text))
            .Select(line => $"{line.Path}:{line.Line}: {line.Text}")
            .ToList();

        Assert.True(plain.Count == 0, "Use PublishThroughOutbox instead of:\n" + string.Join('\n', plain));
    }

    [GeneratedRegex(@"\.Publish(Async)?\s*[<(]")]
    private static partial Regex PlainPublish();
}
