using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Reelay.Blobs;
using Reelay.Blobs.LocalDisk;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Blobs;

/// <summary>The blob contract on the local disk store, inside a running Reelay whose <c>/files/</c> endpoint serves its links.</summary>
public sealed class LocalDiskBlobStoreTests : BlobStoreContract
{
    protected override Task<StoreUnderTest> StartCleanStoreAsync()
    {
        var app = ReelayApp.Start();
        var store = app.Services.GetRequiredService<IBlobStore>();
        Assert.IsType<LocalDiskBlobStore>(store);

        var request = new DefaultHttpContext().Request;
        request.Scheme = app.BaseAddress.Scheme;
        request.Host = new HostString(app.BaseAddress.Authority);
        return Task.FromResult(new StoreUnderTest(store, request, app));
    }
}
