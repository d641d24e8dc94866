namespace Reelay.Channels;

/// <summary>Channels created through the admin API, kept in the database so every instance and restart sees them.</summary>
public interface IChannelStore
{
    Task<IReadOnlyList<ChannelOptions>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Stores a new channel; false when the name is taken.</summary>
    Task<bool> InsertAsync(ChannelOptions channel, long now, CancellationToken cancellationToken);

    /// <summary>Replaces a stored channel; false when it does not exist.</summary>
    Task<bool> UpdateAsync(ChannelOptions channel, long now, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken);
}
