using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sagas.Core.Configuration;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Ocr;
using Sagas.ScanSessions.Reports;
using Sagas.ScanSessions.Sources;

namespace Sagas.Components.Tests.ScanSessions;

public class When_configuring_scan_file_limits
{
    [Fact]
    public void Should_bind_the_section()
    {
        var options = Configuration(new()
        {
            ["ScanSessions:Files:MaxFileBytes"] = "1000",
            ["ScanSessions:Files:MaxPdfPages"] = "7",
            ["ScanSessions:Files:MaxHoleCodes"] = "50",
        }).ReadValidatedOptions<ScanFilesOptions>(ScanFilesOptions.SectionName);

        Assert.Equal(1000, options.MaxFileBytes);
        Assert.Equal(7, options.MaxPdfPages);
        Assert.Equal(50, options.HoleCodeLimits.MaxCodes);
        Assert.Equal(new ScanFilesOptions().MaxManifestRows, options.MaxManifestRows);
    }

    [Fact]
    public void Should_refuse_limits_that_cannot_work_naming_each_setting()
    {
        var error = Assert.Throws<SagasConfigurationException>(() => Configuration(new()
        {
            ["ScanSessions:Files:MaxFileBytes"] = "0",
            ["ScanSessions:Files:MaxCompressionRatio"] = "-3",
        }).ReadValidatedOptions<ScanFilesOptions>(ScanFilesOptions.SectionName));

        Assert.Contains("ScanSessions:Files:MaxFileBytes is 0; it must be a positive number.", error.Message, StringComparison.Ordinal);
        Assert.Contains("ScanSessions:Files:MaxCompressionRatio is -3; it must be a positive number.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_refuse_a_file_limit_larger_than_an_array()
    {
        var error = Assert.Throws<SagasConfigurationException>(() => OptionsValidation.ThrowIfInvalid(new ScanFilesOptions { MaxFileBytes = long.MaxValue }, ScanFilesOptions.SectionName));

        Assert.StartsWith("ScanSessions:Files:MaxFileBytes is above", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Should_register_the_file_services()
    {
        using var provider = new ServiceCollection()
            .AddScanFiles(Configuration(new() { ["ScanSessions:Files:MaxPdfPages"] = "3" }))
            .BuildServiceProvider();

        Assert.Equal(3, provider.GetRequiredService<ScanFilesOptions>().MaxPdfPages);
        Assert.IsType<TextExtractor>(provider.GetRequiredService<ITextExtractor>());
        Assert.NotNull(provider.GetRequiredService<FileContentSource>());
        Assert.NotNull(provider.GetRequiredService<ScanReportWriter>());
    }

    [Fact]
    public void Should_bind_the_ocr_memory_cap_and_refuse_a_negative_one_naming_the_setting()
    {
        var options = Configuration(new() { ["ScanSessions:Ocr:MaxChildMemoryMegabytes"] = "512" }).ReadValidatedOptions<OcrOptions>(OcrOptions.SectionName);
        Assert.Equal(512, options.MaxChildMemoryMegabytes);
        Assert.Equal(2048, new OcrOptions().MaxChildMemoryMegabytes);

        var error = Assert.Throws<SagasConfigurationException>(() => Configuration(new() { ["ScanSessions:Ocr:MaxChildMemoryMegabytes"] = "-1" })
            .ReadValidatedOptions<OcrOptions>(OcrOptions.SectionName));

        Assert.StartsWith("ScanSessions:Ocr:MaxChildMemoryMegabytes is -1", error.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
