using Sagas.Api;
using Sagas.Api.Security;
using Sagas.Hosting;

if (args is ["--hash-api-key", var key])
{
    Console.WriteLine(ApiKeyHash.Compute(key));
    return 0;
}

return SagasHost.Run(args, ApiApplication.Build);

/// <summary>Entry point type, referenced by WebApplicationFactory in the API tests.</summary>
public partial class Program;
