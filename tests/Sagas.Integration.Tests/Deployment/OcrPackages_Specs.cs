namespace Sagas.Integration.Tests.Deployment;

/// <summary>
/// Every image whose host can take the scan-files role reads scanned files, so it must carry the OCR tools: the worker
/// image, and the API image too, because the API runs the roles named in Worker:Roles (compose's API_WORKER_ROLES; the
/// embedded default runs every role in the API process). Without them a scanned file is an error saying OCR is unavailable.
/// </summary>
public sealed class When_an_image_can_scan_files
{
    private static readonly string[] OcrPackages = ["tesseract-ocr", "tesseract-ocr-eng", "poppler-utils", "util-linux"];

    [Theory]
    [InlineData("src/Sagas.Api/Dockerfile")]
    [InlineData("src/Sagas.Worker/Dockerfile")]
    public void Should_install_tesseract_and_poppler_in_its_runtime_stage(string dockerfile)
    {
        var image = DockerImage.Read(Path.Combine(When_compose_starts_every_service_from_the_example_settings.Root, dockerfile));

        var install = Assert.Single(image.Runs, run => run.Contains("apt-get install", StringComparison.Ordinal));
        var packages = install.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(OcrPackages, package => Assert.Contains(package, packages));
    }
}
