using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Sagas.Core.Configuration;

namespace Sagas.Components.Tests.Configuration;

public sealed class When_a_settings_section_is_read_now
{
    [Fact]
    public void Should_bind_and_keep_the_defaults_of_what_is_not_configured()
    {
        var options = Read(("Sample:PrefetchCount", "10"), ("Sample:Retry:Delay", "00:00:02"));

        Assert.Equal(10, options.PrefetchCount);
        Assert.Equal(TimeSpan.FromSeconds(2), options.Retry.Delay);
        Assert.Equal("orders", options.Queue);
    }

    [Fact]
    public void Should_name_the_full_key_of_a_top_level_setting()
    {
        var error = Refused(("Sample:PrefetchCount", "0"));

        Assert.Equal("Sample:PrefetchCount is 0; it must be between 1 and 10000.", error);
    }

    [Fact]
    public void Should_name_the_full_key_of_a_nested_setting()
    {
        var error = Refused(("Sample:Retry:Attempts", "11"));

        Assert.Equal("Sample:Retry:Attempts is 11; it must be between 0 and 10.", error);
    }

    [Fact]
    public void Should_name_list_entries_by_index_and_by_the_name_operators_know_them_by()
    {
        var error = Refused(
            ("Sample:Endpoints:0:Name", "crm"),
            ("Sample:Endpoints:0:Url", "ftp://hooks.example.com"),
            ("Sample:Endpoints:1:Url", "https://hooks.example.com"));

        Assert.Equal(
            "Sample:Endpoints:0 ('crm'):Url is 'ftp://hooks.example.com', which is not an absolute http(s) URL. Sample:Endpoints:1:Name is empty.",
            error);
    }

    [Fact]
    public void Should_name_dictionary_entries_by_their_key()
    {
        var error = Refused(("Sample:Kinds:flagging:Instructions", " "));

        Assert.Equal("Sample:Kinds:flagging:Instructions is empty.", error);
    }

    [Fact]
    public void Should_run_the_cross_field_rules_of_a_validatable_section_with_full_keys()
    {
        var error = Refused(("Sample:Retry:Delay", "00:01:00"), ("Sample:Retry:MaxDelay", "00:00:30"));

        Assert.Equal("Sample:Retry:MaxDelay (00:00:30) is shorter than Sample:Retry:Delay (00:01:00).", error);
    }

    [Fact]
    public void Should_report_every_problem_of_a_section_in_one_message_one_sentence_each()
    {
        var error = Refused(("Sample:PrefetchCount", "0"), ("Sample:Queue", ""), ("Sample:Timeout", "-00:00:01"));

        Assert.Equal(
            "Sample:PrefetchCount is 0; it must be between 1 and 10000. Sample:Queue is empty. Sample:Timeout is -00:00:01; it must be longer than zero.",
            error);
    }

    [Theory]
    [InlineData("Sample:PrefetchCount", "lots", "Sample:PrefetchCount is 'lots', which is not a whole number.")]
    [InlineData("Sample:Retry:Delay", "soon", "Sample:Retry:Delay is 'soon', which is not a duration such as 00:00:30.")]
    [InlineData("Sample:UseRemote", "maybe", "Sample:UseRemote is 'maybe', which is not true or false.")]
    [InlineData("Sample:Share", "half", "Sample:Share is 'half', which is not a number.")]
    public void Should_turn_a_value_that_does_not_convert_into_one_sentence_naming_the_key(string key, string value, string expected)
    {
        Assert.Equal(expected, Refused((key, value)));
    }

    [Fact]
    public void Should_leave_a_section_unchecked_while_its_condition_is_false()
    {
        var options = Read(("Sample:Remote:Port", "0"));

        Assert.Equal(0, options.Remote.Port);
        Assert.Equal("Sample:Remote:Port is 0; it must be between 1 and 65535.", Refused(("Sample:UseRemote", "true"), ("Sample:Remote:Port", "0")));
    }

    [Theory]
    [InlineData("Sample:Transport", "Kafka", "Sample:Transport is 'Kafka', which this build does not know. Allowed values: InMemory, RabbitMq.")]
    [InlineData("Sample:Share", "1.5", "Sample:Share is 1.5; it must be at least 0 and below 1.")]
    [InlineData("Sample:Backlog", "-1", "Sample:Backlog is -1; it must not be negative.")]
    [InlineData("Sample:Checkin", "00:00:00.5", "Sample:Checkin is 00:00:00.5000000; it must be at least 00:00:01.")]
    [InlineData("Sample:Budget", "-5", "Sample:Budget is -5; it must be positive, or 0 for no limit.")]
    [InlineData("Sample:Secret", "short", "Sample:Secret is too short.")]
    public void Should_word_each_rule_once_for_every_section(string key, string value, string expected)
    {
        Assert.Equal(expected, Refused((key, value)));
    }

    [Fact]
    public void Should_let_the_registration_pass_in_what_only_code_knows()
    {
        var configuration = Configuration(("Sample:Kinds:audit:Instructions", "Check it."));

        var error = Assert.Throws<SagasConfigurationException>(() =>
            configuration.ReadValidatedOptions<SampleOptions>("Sample", options => options.KnownKinds = ["flagging"]));

        Assert.Equal("Sample:Kinds names unknown kind 'audit'. Known: flagging.", error.Message);
    }

    private static SampleOptions Read(params (string Key, string Value)[] settings) =>
        Configuration(settings).ReadValidatedOptions<SampleOptions>("Sample");

    private static string Refused(params (string Key, string Value)[] settings) =>
        Assert.Throws<SagasConfigurationException>(() => Read(settings)).Message;

    internal static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings.Select(setting => KeyValuePair.Create(setting.Key, (string?)setting.Value))).Build();
}

public sealed class When_a_settings_section_is_validated_on_start
{
    [Fact]
    public void Should_resolve_the_bound_options_object_itself()
    {
        using var services = new ServiceCollection()
            .AddValidatedOptions<SampleOptions>(When_a_settings_section_is_read_now.Configuration(("Sample:PrefetchCount", "12")), "Sample")
            .Services.BuildServiceProvider();

        Assert.Equal(12, services.GetRequiredService<SampleOptions>().PrefetchCount);
        Assert.Same(services.GetRequiredService<IOptions<SampleOptions>>().Value, services.GetRequiredService<SampleOptions>());
    }

    [Fact]
    public async Task Should_stop_the_host_with_the_messages_of_the_section_read_now()
    {
        var configuration = When_a_settings_section_is_read_now.Configuration(("Sample:PrefetchCount", "0"), ("Sample:Endpoints:0:Name", "crm"), ("Sample:Endpoints:0:Url", "ftp://x"));
        var now = Assert.Throws<SagasConfigurationException>(() => configuration.ReadValidatedOptions<SampleOptions>("Sample"));

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(configuration));

        Assert.Equal(now.Message, string.Join(" ", failure.Failures));
    }

    [Fact]
    public async Task Should_report_a_value_that_does_not_convert_as_a_validation_failure()
    {
        var configuration = When_a_settings_section_is_read_now.Configuration(("Sample:Retry:Attempts", "thrice"));

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(configuration));

        Assert.Equal(["Sample:Retry:Attempts is 'thrice', which is not a whole number."], failure.Failures);
    }

    [Fact]
    public void Should_bind_once_however_often_it_is_registered()
    {
        var configuration = When_a_settings_section_is_read_now.Configuration(("Sample:Endpoints:0:Name", "crm"), ("Sample:Endpoints:0:Url", "https://crm.example.com"));
        var services = new ServiceCollection();
        services.AddValidatedOptions<SampleOptions>(configuration, "Sample");
        services.AddValidatedOptions<SampleOptions>(configuration, "Sample");
        using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetRequiredService<SampleOptions>().Endpoints);
        Assert.Single(provider.GetServices<IValidateOptions<SampleOptions>>());
    }

    private static async Task StartAsync(IConfiguration configuration)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddValidatedOptions<SampleOptions>(configuration, "Sample");
        using var host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();
    }
}

public sealed class SampleOptions : IValidatableObject
{
    [Range(1, 10_000)]
    public int PrefetchCount { get; set; } = 64;

    [Required]
    public string Queue { get; set; } = "orders";

    [Positive]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    [EnumName(typeof(SampleTransport))]
    public string Transport { get; set; } = nameof(SampleTransport.InMemory);

    [Range(0d, 1d, MaximumIsExclusive = true)]
    public double Share { get; set; }

    [NotNegative]
    public int Backlog { get; set; }

    [AtLeast(typeof(TimeSpan), "00:00:01")]
    public TimeSpan Checkin { get; set; } = TimeSpan.FromSeconds(10);

    [NotNegative(ErrorMessage = "{0} is {1}; it must be positive, or 0 for no limit.")]
    public long? Budget { get; set; }

    /// <summary>A rule with its own wording that must not show the value.</summary>
    [MinLength(8, ErrorMessage = "{0} is too short.")]
    public string? Secret { get; set; }

    public bool UseRemote { get; set; }

    public SampleRetry Retry { get; set; } = new();

    public List<SampleEndpoint> Endpoints { get; set; } = [];

    public Dictionary<string, SampleKind> Kinds { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    [ValidatedOnlyWhen(nameof(UsesRemote))]
    public SampleRemote Remote { get; set; } = new();

    internal IReadOnlyList<string>? KnownKinds { get; set; }

    private bool UsesRemote => UseRemote;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (KnownKinds is { } known)
        {
            foreach (var kind in Kinds.Keys.Where(kind => !known.Contains(kind)))
                yield return new ValidationResult($"{validationContext.Key(nameof(Kinds))} names unknown kind '{kind}'. Known: {string.Join(", ", known)}.");
        }
    }
}

public enum SampleTransport
{
    InMemory,
    RabbitMq,
}

public sealed class SampleRetry : IValidatableObject
{
    [Range(0, 10)]
    public int Attempts { get; set; } = 3;

    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxDelay < Delay)
            yield return new ValidationResult($"{validationContext.Key(nameof(MaxDelay))} ({MaxDelay}) is shorter than {validationContext.Key(nameof(Delay))} ({Delay}).");
    }
}

public sealed class SampleEndpoint : ILabelledSetting
{
    [Required]
    public string Name { get; set; } = "";

    [HttpUrl]
    public string Url { get; set; } = "";

    string? ILabelledSetting.Label => Name;
}

public sealed class SampleKind
{
    [Required]
    public string Instructions { get; set; } = "";
}

public sealed class SampleRemote
{
    [Range(1, 65535)]
    public int Port { get; set; } = 443;
}
