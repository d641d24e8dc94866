using Reelay.Blobs;
using Reelay.Images;

namespace Reelay.Tasks;

/// <summary>
/// Inline reference images (data URIs, uploads) live in the blob store, not in the task row: the row
/// keeps a <c>blob:</c> reference, so claims, polls and lease updates never carry megabytes. Only
/// the dispatcher reads them back, and they are deleted once the upstream has the job or the task ended.
/// </summary>
public sealed class RequestImages(IBlobStore blobs)
{
    /// <summary>Prefix of a reference to stored bytes, as the row keeps it.</summary>
    public const string Prefix = "blob:";

    /// <summary>The references to keep in the row: URLs as given, data URIs stored and replaced by their key.</summary>
    public async Task<IReadOnlyList<string>> StoreAsync(IReadOnlyList<string> images, CancellationToken cancellationToken)
    {
        if (!images.Any(IsInline))
        {
            return images;
        }

        var references = new string[images.Count];
        try
        {
            for (var i = 0; i < images.Count; i++)
            {
                if (!IsInline(images[i]))
                {
                    references[i] = images[i];
                    continue;
                }

                // Checked at validation: the payload is base64 of an allowed size.
                var key = BlobKeys.NewRequestImage();
                using var bytes = new MemoryStream(DataUri.Decode(images[i])!, writable: false);
                await blobs.WriteAsync(key, bytes, cancellationToken);
                references[i] = Prefix + key;
            }
        }
        catch
        {
            await DeleteAsync([.. references.Where(r => r is not null)], CancellationToken.None);
            throw;
        }

        return references;
    }

    /// <summary>The stored bytes behind a <c>blob:</c> reference, or null when they are gone.</summary>
    public async Task<byte[]?> ReadAsync(string reference, CancellationToken cancellationToken)
    {
        await using var blob = await blobs.OpenReadAsync(reference[Prefix.Length..], cancellationToken);
        if (blob is null)
        {
            return null;
        }

        // Stored images are bounded by the image limit: one array of the blob's size, filled once.
        var bytes = GC.AllocateUninitializedArray<byte>(checked((int)blob.Length));
        await blob.Content.ReadExactlyAsync(bytes, cancellationToken);
        return bytes;
    }

    /// <summary>Deletes the stored images among <paramref name="references"/>; URLs are left alone.</summary>
    public async Task DeleteAsync(IReadOnlyList<string> references, CancellationToken cancellationToken)
    {
        foreach (var reference in references)
        {
            if (reference.StartsWith(Prefix, StringComparison.Ordinal))
            {
                await blobs.DeleteAsync(reference[Prefix.Length..], cancellationToken);
            }
        }
    }

    private static bool IsInline(string image) => image.StartsWith("data:", StringComparison.OrdinalIgnoreCase);
}
