using Sagas.Api;
using Sagas.Hosting;

return SagasHost.Run(args, ApiApplication.Build);

/// <summary>Entry point type, referenced by WebApplicationFactory in the API tests.</summary>
public partial class Program;
