using Npgsql;
using Sagas.Messaging.Scheduling.Store;

namespace Sagas.Components.Tests.Scheduling;

public sealed class When_the_quartz_store_connection_string_is_built
{
    [Fact]
    public void Should_keep_a_connection_for_every_fire_and_the_scheduler_threads_out_of_idle_pruning()
    {
        var built = new NpgsqlConnectionStringBuilder(QuartzConnectionString.For("Host=db;Database=sagas;Username=u", maxConcurrency: 10));

        Assert.Equal(10 + QuartzConnectionString.SchedulerConnections, built.MinPoolSize);
        Assert.Equal("db", built.Host);
        Assert.Equal("sagas", built.Database);
    }

    [Fact]
    public void Should_keep_a_larger_configured_minimum()
    {
        var built = new NpgsqlConnectionStringBuilder(QuartzConnectionString.For("Host=db;Minimum Pool Size=40", maxConcurrency: 10));

        Assert.Equal(40, built.MinPoolSize);
    }

    [Fact]
    public void Should_not_raise_the_minimum_above_the_configured_maximum()
    {
        var built = new NpgsqlConnectionStringBuilder(QuartzConnectionString.For("Host=db;Maximum Pool Size=8", maxConcurrency: 10));

        Assert.Equal(8, built.MinPoolSize);
        Assert.Equal(8, built.MaxPoolSize);
    }
}
