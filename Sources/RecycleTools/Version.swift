/// This runtime's version, as `recycle --version` and the server's `/v1/models` report it.
public let recycleVersion = "0.6.0"
