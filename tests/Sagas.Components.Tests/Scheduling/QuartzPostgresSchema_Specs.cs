using Sagas.Messaging.Scheduling.Store;

namespace Sagas.Components.Tests.Scheduling;

public sealed class When_the_quartz_schema_script_is_read
{
    [Fact]
    public void Should_yield_guarded_statements_for_every_table_under_the_qrtz_prefix()
    {
        var statements = QuartzPostgresSchema.ReadStatements();

        Assert.All(statements, statement =>
        {
            Assert.Matches(@"^CREATE (TABLE|INDEX) IF NOT EXISTS ", statement);
            Assert.DoesNotContain("{0}", statement, StringComparison.Ordinal);
            Assert.DoesNotContain("{1}", statement, StringComparison.Ordinal);
        });
        foreach (var table in new[] { "job_details", "triggers", "simple_triggers", "cron_triggers", "fired_triggers", "scheduler_state", "locks" })
            Assert.Contains(statements, statement => statement.StartsWith($"CREATE TABLE IF NOT EXISTS qrtz_{table} (", StringComparison.Ordinal));
    }
}
