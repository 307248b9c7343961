# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sealpost_global_optspecs
    string join \n keystore= json json-version= q/quiet v/verbose passphrase-file= passphrase-fd= h/help V/version
end

function __fish_sealpost_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sealpost_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sealpost_using_subcommand
    set -l cmd (__fish_sealpost_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sealpost -n "__fish_sealpost_needs_command" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_needs_command" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_needs_command" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_needs_command" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_needs_command" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_needs_command" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_needs_command" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "key" -d 'Manage your own keys and certificates (identities)'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "cert" -d 'Manage correspondents\' certificates'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "compose" -d 'Compose an RFC 5322 / MIME message and write it to stdout'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "encrypt" -d 'Encrypt a message as S/MIME, keeping Bcc recipients private'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "decrypt" -d 'Decrypt an S/MIME message'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "verify" -d 'Verify a signed message and write its content'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "inspect" -d 'Show what an S/MIME message reveals without decrypting it'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "account" -d 'Manage mail accounts (submission and fetch servers)'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "submit" -d 'Send messages through the account\'s submission server, via the outbox'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "outbox" -d 'Show, retry or remove what waits in the outbox'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "fetch" -d 'Download new mail into a local Maildir, losing and doubling nothing'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "group" -d 'Group keys for encrypted mailing lists, and the key release server'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "release" -d 'Ask the group server for a message\'s key and add an entry for your own key'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "revoke" -d 'Delete a message\'s deposited key at the group server: nobody can read it afterwards'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "explode" -d 'Send a message to a mailing list\'s members, one copy per member'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "man" -d 'Print a man page (roff) on stdout'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "completions" -d 'Print a shell completion script on stdout'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "generate-docs" -d 'Write man pages to DIR/man and completions to DIR/completions'
complete -c sealpost -n "__fish_sealpost_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -f -a "generate" -d 'Create a key and a self-signed S/MIME certificate'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -f -a "import" -d 'Import a key and certificate from PKCS#12 or PEM'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -f -a "list" -d 'List your identities'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -f -a "export" -d 'Print an identity\'s certificate, or export its private key'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -f -a "csr" -d 'Make a certificate request (PKCS#10) for a certificate authority'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -f -a "import-cert" -d 'Install a certificate a CA issued for one of your keys'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and not __fish_seen_subcommand_from generate import list export csr import-cert help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l email -d 'The e-mail address the certificate is for' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l name -d 'A display name for the certificate\'s subject [default: the address]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l algorithm -d 'Key algorithm' -r -f -a "rsa2048\t''
rsa3072\t''
rsa4096\t''
p256\t''
p384\t''
ed25519\t''"
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l bits -d 'RSA key size (the same as --algorithm rsaBITS)' -r -f -a "2048\t''
3072\t''
4096\t''"
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l days -d 'Days the certificate is valid' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l no-passphrase -d 'Store the private key unencrypted (for unattended hosts; shown in `key list`)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from generate" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l cert -d 'The certificate for a PEM/DER private key' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l p12-password-file -d 'Read the PKCS#12 password from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l p12-password-fd -d 'Read the PKCS#12 password from file descriptor N' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l key-password-file -d 'Read the passphrase of an encrypted PEM key being imported from FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l no-passphrase -d 'Store the private key unencrypted (for unattended hosts)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from list" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from list" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from list" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from list" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from list" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -s o -l output -d 'Where the key goes: a new file (mode 0600), or - for stdout' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l export-password-file -d 'Read the export password from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l export-password-fd -d 'Read the export password from file descriptor N' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l der -d 'The certificate in DER instead of PEM'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l p12 -d 'Export key, certificate and chain as PKCS#12 (needs -o)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l legacy -d 'With --p12: 3DES and a SHA-1 MAC, for old importers (gpgsm 2.2, old Windows, Java 8)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l pkcs8 -d 'Export the private key as encrypted PKCS#8 PEM (needs -o)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l to-terminal -d 'With --pkcs8 -o -: write the key even when stdout is a terminal'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -l name -d 'The subject\'s common name [default: the current certificate\'s, else the address]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -s o -l output -d 'Write the request to a new FILE instead of stdout' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -l der -d 'DER instead of PEM'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from csr" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import-cert" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import-cert" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import-cert" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import-cert" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import-cert" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import-cert" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import-cert" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import-cert" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from import-cert" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "generate" -d 'Create a key and a self-signed S/MIME certificate'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import a key and certificate from PKCS#12 or PEM'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "list" -d 'List your identities'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "export" -d 'Print an identity\'s certificate, or export its private key'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "csr" -d 'Make a certificate request (PKCS#10) for a certificate authority'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "import-cert" -d 'Install a certificate a CA issued for one of your keys'
complete -c sealpost -n "__fish_sealpost_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -f -a "import" -d 'Import certificates (PEM, DER, or PKCS#7 bundles of several)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -f -a "list" -d 'List correspondents\' certificates, accepted, validated or learned, and whether each can be used to encrypt'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -f -a "accept" -d 'Accept a certificate learned from signed mail, so that encrypt uses it'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -f -a "remove" -d 'Remove certificates, accepted, validated or learned, by address or fingerprint'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -f -a "prefer" -d 'Say which algorithms a correspondent\'s software reads'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -f -a "trust" -d 'Trust certificates as anchors: signers with a certification path to one are trusted'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -f -a "untrust" -d 'Stop trusting anchors added with `cert trust`'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -f -a "crl" -d 'Certificate revocation lists'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and not __fish_seen_subcommand_from import list accept remove prefer trust untrust crl help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from import" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from import" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from import" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from import" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from import" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from import" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -l anchors -d 'List the trust anchors of `cert trust` instead'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from accept" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from accept" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from accept" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from accept" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from accept" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from accept" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from accept" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from accept" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from accept" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from remove" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from remove" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from remove" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from remove" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from remove" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from prefer" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from prefer" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from prefer" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from prefer" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from prefer" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from prefer" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from prefer" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from prefer" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from prefer" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from trust" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from trust" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from trust" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from trust" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from trust" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from trust" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from trust" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from trust" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from trust" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from untrust" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from untrust" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from untrust" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from untrust" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from untrust" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from untrust" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from untrust" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from untrust" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from untrust" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -f -a "import" -d 'Keep CRLs in the keystore, to check signers\' revocation offline'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from crl" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import certificates (PEM, DER, or PKCS#7 bundles of several)'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "list" -d 'List correspondents\' certificates, accepted, validated or learned, and whether each can be used to encrypt'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "accept" -d 'Accept a certificate learned from signed mail, so that encrypt uses it'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove certificates, accepted, validated or learned, by address or fingerprint'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "prefer" -d 'Say which algorithms a correspondent\'s software reads'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "trust" -d 'Trust certificates as anchors: signers with a certification path to one are trusted'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "untrust" -d 'Stop trusting anchors added with `cert trust`'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "crl" -d 'Certificate revocation lists'
complete -c sealpost -n "__fish_sealpost_using_subcommand cert; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l from -d 'Sender: one address, also the domain of the Message-ID' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l to -d 'Recipient (repeatable; comma-separated lists accepted)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l cc -d 'Copy recipient (repeatable; comma-separated lists accepted)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l bcc -d 'Blind copy recipient (repeatable; comma-separated lists accepted); kept as a Bcc header for `sealpost encrypt`' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l reply-to -d 'Where replies should go (repeatable; comma-separated lists accepted)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -s s -l subject -d 'Subject line (UTF-8); without it the message has no Subject header' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -s H -l header -d 'Extra header field \'Name: value\' (repeatable), e.g. \'In-Reply-To: <id@host>\'. From, To, Cc, Bcc, Reply-To, Subject, Date, Message-ID, MIME-Version and Content-* are refused (exit 64): use the flags, sealpost writes the rest' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -s a -l attach -d 'Attach a file (repeatable): FILE[;type=TYPE][;name=NAME]. TYPE is the content type (default: guessed from the name, else application/octet-stream); NAME is the file name the recipient sees (default: FILE\'s base name). FILE ends at the first \';type=\' or \';name=\', so it may contain \':\' and \';\'' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l body-file -d 'Read the body (UTF-8 text) from FILE; \'-\' is stdin [default: stdin]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand compose" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l bcc-mode -d 'How to group Bcc recipients: one envelope each, or one shared by all of them' -r -f -a "separate\t''
shared\t''"
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l cipher -d 'Force the content cipher for every envelope. Without it: AES-256-GCM when every reader\'s certificate advertises AES-256-GCM and RSA-OAEP, else AES-256-CBC; ChaCha20-Poly1305 (RFC 8103) only when chosen here' -r -f -a "aes128-gcm\t''
aes256-gcm\t''
aes128-cbc\t''
aes192-cbc\t''
aes256-cbc\t''
chacha20-poly1305\t''"
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l key-transport -d 'Force the RSA key transport for every recipient' -r -f -a "oaep\t'RSAES-OAEP with SHA-256'
pkcs1\t'RSAES-PKCS1-v1_5'"
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -s o -l output -d 'Write the Batch SMTP stream (or with --eml, the message) to FILE instead of stdout' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l outdir -d 'Write one .eml file per envelope and manifest.json into DIR' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l deposit -d 'Deposit the message\'s key at the server of GROUP (a joined group) instead of wrapping it to certificates: each reader\'s `sealpost decrypt` asks the server, which checks who they are (and that the deposit has not expired) before it releases the key; `sealpost revoke` deletes it. The copies carry one entry naming the deposit (no reader), AES-256-GCM, and no sender copy: the sender reads like the others' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l readers -d 'With --deposit: who may read: the group\'s members at the time they ask, or each envelope\'s own recipients (one deposit per envelope)' -r -f -a "members\t'Whoever is a member of the group when they ask'
recipients\t'The envelope\'s own recipients, by their certificates'"
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l expires -d 'With --deposit: delete the key after DURATION (e.g. 12h, 7d); nobody can read the message afterwards' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l trust-anchor -d 'Trust the certificates in FILE as anchors for this command (PEM, DER or PKCS#7; repeatable). `cert trust` keeps anchors in the keystore' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l no-self -d 'Do not add the sender\'s own certificate (the sender cannot read their sent copy)'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l bcc-self-header -d 'Give each Bcc recipient\'s copy a Bcc header naming only that recipient'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l skip-unknown -d 'Leave out recipients without a usable certificate, or whose certificates are refused (expired, revoked, untrusted), and report them, instead of failing'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l keyid -d 'Name recipients by subjectKeyIdentifier instead of issuer and serial number'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l sign -d 'Sign with the sender\'s key before encrypting (RSA PKCS#1 v1.5, ECDSA or Ed25519, as the key is)'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l pss -d 'With --sign and an RSA key: RSASSA-PSS instead of PKCS#1 v1.5'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l force -d 'Replace FILE of --output if it exists'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l eml -d 'Write the encrypted message itself (fails unless there is exactly one envelope)'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l require-trusted-recipients -d 'Refuse (exit 79) a recipient whose certificate has no valid certification path to a trust anchor (`cert trust`, --trust-anchor, the system\'s CA store); an imported certificate alone is not enough'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l no-system-anchors -d 'Do not use the system\'s CA store as trust anchors'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l require-revocation-check -d 'Fail (exit 81) unless revocation was checked for the whole path, with the CRLs a signed message carries, `cert crl import` kept or (verify, decrypt) --online fetched'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand encrypt" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l trust-anchor -d 'Trust the certificates in FILE as anchors for this command (PEM, DER or PKCS#7; repeatable). `cert trust` keeps anchors in the keystore' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -s o -l output -d 'Write the plaintext to FILE (atomically) instead of stdout' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l part -d 'Decrypt only part N of a plain message: an encrypted message attached to it or forwarded in it (message/rfc822), which decrypt names when the message itself is not encrypted. Parts are numbered from 1 as IMAP does, nested ones joined with dots (2.1); a forwarded message stands for its part. The part is opened as a message of its own: nothing around it is written' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l require-signature -d 'Fail unless the message carries a good signature by a trusted signer whose certificate names the sender (exit 65 unsigned or bad, 79 not trusted, 80 sender mismatch)'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l allow-bad-signature -d 'Write the plaintext even when a signature is BAD (the content is not what was signed), with a warning'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l no-system-anchors -d 'Do not use the system\'s CA store as trust anchors'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l require-revocation-check -d 'Fail (exit 81) unless revocation was checked for the whole path, with the CRLs a signed message carries, `cert crl import` kept or (verify, decrypt) --online fetched'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l online -d 'Allow network access to check revocation: fetch the CRL from the http(s) CRL distribution point named by each certificate on the signer\'s path whose status is otherwise unknown, a host the message\'s certificates chose (at most 8 fetches, 10 s and 10 MiB each; ldap and other schemes are skipped); a CRL that settled the check is kept in the keystore until its next update. Off by default: without it no host is contacted'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l no-learn -d 'Do not record the signer\'s certificate (as validated or learned) and capabilities'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l force -d 'Replace FILE of --output if it exists'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l offline -d 'Make no network request: a message that needs a group key release fails instead'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand decrypt" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l content -d 'The content a detached CMS signature (FILE) signs, byte for byte' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -s o -l output -d 'Write the content to FILE (atomically) instead of stdout' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l trust-anchor -d 'Trust the certificates in FILE as anchors for this command (PEM, DER or PKCS#7; repeatable). `cert trust` keeps anchors in the keystore' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l allow-untrusted -d 'Write the content of a good signature even when the signer is not trusted or does not match the sender, with a warning'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l force -d 'Replace FILE of --output if it exists'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l no-system-anchors -d 'Do not use the system\'s CA store as trust anchors'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l require-revocation-check -d 'Fail (exit 81) unless revocation was checked for the whole path, with the CRLs a signed message carries, `cert crl import` kept or (verify, decrypt) --online fetched'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l online -d 'Allow network access to check revocation: fetch the CRL from the http(s) CRL distribution point named by each certificate on the signer\'s path whose status is otherwise unknown, a host the message\'s certificates chose (at most 8 fetches, 10 s and 10 MiB each; ldap and other schemes are skipped); a CRL that settled the check is kept in the keystore until its next update. Off by default: without it no host is contacted'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l no-learn -d 'Do not record the signer\'s certificate (as validated or learned) and capabilities'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand verify" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -l rcpt -d 'The SMTP recipients of this copy (when the input is a single message)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Add (or with --replace, change) an account'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'List the accounts (never their passwords)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'Remove an account (its outbox entries and fetched mail stay)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l domain -d 'Mail domain whose DNS SRV records name the servers not given as URLs; with it, --smtp defaults to "srv" and incoming mail to --imap srv' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l smtp -d 'Submission server URLs, tried in order (smtps://HOST:465, smtp://HOST:587), or "srv" (needs --domain); without it (and without --domain) the account only fetches, and without --imap and --pop3 it only sends' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l imap -d 'IMAP server URLs, tried in order (imaps://HOST:993, imap://HOST:143), or "srv"' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l pop3 -d 'POP3 server URLs, tried in order (pop3s://HOST:995, pop3://HOST:110), or "srv"' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l user -d 'The user name to log in as (often the e-mail address)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l password-file -d 'A file whose first line is the password. Without --store-password its path is recorded and the file read at each run; with it, the password is read now and stored' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l password-fd -d 'Read the password to store from file descriptor N (needs --store-password)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l ca-file -d 'A PEM file with CA certificates to trust besides the system roots' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l maildir -d 'Maildir for fetched mail [default: KEYSTORE/mail/NAME]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l store-password -d 'Store the password in config.toml (mode 0600), in plain text'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l insecure-plaintext -d 'Allow servers without TLS (URLs with the +plain schemes)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l replace -d 'Replace an existing account of the same name'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from list" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from list" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from list" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from list" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from list" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from remove" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from remove" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from remove" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from remove" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from remove" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add (or with --replace, change) an account'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the accounts (never their passwords)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove an account (its outbox entries and fetched mail stay)'
complete -c sealpost -n "__fish_sealpost_using_subcommand account; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l account -d 'The account to send with [default: the only account]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l timeout -d 'Seconds to wait for a connection or a reply' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l password-file -d 'Read the account password from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l password-fd -d 'Read the account password from file descriptor N' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l outbox -d 'Send what is queued in the outbox and due for a retry, reading no input'
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand submit" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -f -a "list" -d 'List queued and failed envelopes'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -f -a "flush" -d 'Send every queued envelope now, ignoring retry times'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -f -a "drop" -d 'Remove a queued or failed envelope without sending it'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -f -a "prune" -d 'Remove records of sent envelopes older than a given time'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and not __fish_seen_subcommand_from list flush drop prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from list" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from list" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from list" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from list" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from list" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -l account -d 'Only this account\'s envelopes' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -l timeout -d 'Seconds to wait for a connection or a reply' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -l password-file -d 'Read the account password from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -l password-fd -d 'Read the account password from file descriptor N' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from flush" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from drop" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from drop" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from drop" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from drop" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from drop" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from drop" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from drop" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from drop" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from drop" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -l older-than -d 'Age of the records to remove: a number and a unit (s, m, h, d, w), or 0 for all [default: [outbox] keep_sent in config.toml, else 30d]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "list" -d 'List queued and failed envelopes'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "flush" -d 'Send every queued envelope now, ignoring retry times'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "drop" -d 'Remove a queued or failed envelope without sending it'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Remove records of sent envelopes older than a given time'
complete -c sealpost -n "__fish_sealpost_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l timeout -d 'Seconds to wait for a connection or a reply' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l exec -d 'Pipe each new message to `sh -c CMD` and store its output instead' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l max-message-size -d 'Largest message to fetch: bytes, or a number with K, M or G [default: the account\'s max_message_size, else 256M]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l password-file -d 'Read the account password from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l password-fd -d 'Read the account password from file descriptor N' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l all -d 'Fetch every account'
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l delete -d 'Delete fetched messages from the server (only once stored locally)'
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l no-compress -d 'Do not use IMAP COMPRESS=DEFLATE even when the server offers it'
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand fetch" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "create" -d 'Create a group: a key pair and a self-signed group certificate'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "cert" -d 'Print a group\'s certificate (PEM), for senders and members'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "show" -d 'Show a group: its address, members, and key generations'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "rotate-key" -d 'Replace a group\'s key: a new key pair and group certificate'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "add-member" -d 'Add a member: a certificate whose e-mail address is the member\'s'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "remove-member" -d 'Remove a member by address (all their certificates) or fingerprint'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "members" -d 'List a group\'s members'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "audit" -d 'Show a group\'s audit log, or prune old rows from it'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "rotate-secret" -d 'Issue a new group secret, for list mail re-wrapped by the exploder'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "migrate" -d 'Copy a group store from SQLite into an empty PostgreSQL database'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "serve" -d 'Serve key releases over HTTPS (POST /v1/release)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "join" -d 'Record a group certificate, its release servers and which own identity is the member'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "key" -d 'The group\'s private key, for members who must read list mail offline'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "secret" -d 'Group secrets: read list mail the exploder re-wrapped, offline'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "pass" -d 'Membership passes: read an anonymous list\'s mail without telling its server who reads'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "set" -d 'Change a group\'s settings: anonymous=on|off, pass-lifetime=DURATION'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and not __fish_seen_subcommand_from create cert show rotate-key add-member remove-member members audit rotate-secret migrate serve join key secret pass set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l email -d 'The list\'s address, which senders write to' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l bits -d 'RSA key size' -r -f -a "2048\t''
3072\t''
4096\t''"
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l days -d 'Days the group certificate is valid' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l pkcs11 -d 'Use the RSA key in a PKCS#11 token that URI names, e.g. \'pkcs11:token=lists;object=list-key?pin-source=file:/etc/sealpost/pin\'' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l pkcs11-module -d 'The PKCS#11 module [default: module-path= in the URI, else SoftHSM2\'s or p11-kit\'s proxy]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l pin-file -d 'Read the PKCS#11 token PIN from the first line of FILE [otherwise: pin-source= in the URI, SEALPOST_PKCS11_PIN, or the terminal]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l pin-fd -d 'Read the PKCS#11 token PIN from file descriptor N' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l pass-lifetime -d 'With --anonymous: how long a pass lasts (its period), whole hours from 1h to 7d' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l generate -d 'Generate the key in the token (--bits; CKA_SENSITIVE, never extractable) instead of using one already there'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l anonymous -d 'Make the group anonymous: members read its mail with membership passes, and the server\'s audit names no member for a release (`group set NAME anonymous=on` later does the same)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -l der -d 'DER instead of PEM'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from cert" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -l keep-old -d 'How long messages encrypted to the old key stay readable: a duration such as 90d, 12h, 30m (0s: refuse them at once)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -l pin-file -d 'Read the PKCS#11 token PIN from the first line of FILE [otherwise: pin-source= in the URI, SEALPOST_PKCS11_PIN, or the terminal]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -l pin-fd -d 'Read the PKCS#11 token PIN from file descriptor N' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-key" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -l role -d 'What the certificate may do: member (read the list\'s mail), sender (deposit keys for it, read nothing), exploder (the list exploder: get the member list and keys re-wrapped under the group secret, read nothing)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from add-member" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -l fingerprint -d 'One certificate\'s SHA-256 fingerprint (hex, colons allowed)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -l now -d 'In an anonymous group: withdraw every membership pass issued so far (the removed member\'s among them), instead of letting them run to the end of their period; current members fetch new ones by themselves'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from remove-member" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from members" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -l since -d 'Only rows from this time on: RFC 3339, or a duration back such as 1h, 30m, 2d' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -l prune -d 'Delete the rows older than AGE (a duration such as 90d, or an RFC 3339 time)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from audit" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from rotate-secret" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -l from -d 'The SQLite store: sqlite:PATH (or PATH)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -l to -d 'The PostgreSQL database: postgres://USER@HOST:PORT/DB (TLS as --store\'s: ?sslmode=verify-full&sslrootcert=FILE)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from migrate" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l config -d 'Read settings from this TOML file; flags given here override it' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l listen -d 'Address to listen on, e.g. 0.0.0.0:8443 (port 0: any free port); required, here or in the config file' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l tls-cert -d 'The server\'s TLS certificate chain (PEM); required, here or in the config file' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l tls-key -d 'The TLS certificate\'s private key (PEM, unencrypted); required, here or in the config file' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l rate-limit -d 'Requests per second each member may make, sustained [default: 5/s]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l burst -d 'Requests a member may make at once, above the sustained rate [default: 20]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l max-connections -d 'Most simultaneous connections; at the limit, the connection that has waited longest without a complete request is closed to make room [default: 256]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l max-connections-per-address -d 'Most simultaneous connections from one IP address (as above, the address\'s longest-waiting one is closed to make room) [default: 64]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l idle-timeout -d 'Seconds a kept-alive connection may wait for its next request [default: 30]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l request-timeout -d 'Seconds one request may take to arrive in full: TLS handshake, head and body [default: 10]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l address-rate-limit -d 'Requests per second from one IP address, sustained, counted before any signature is checked [default: 50/s]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l address-burst -d 'Requests one IP address may make at once, above its sustained rate [default: 100]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l audit-max-rows -d 'Keep at most this many audit rows, deleting the oldest once a minute (never a row still needed against replays); 0 keeps every row [default: 10000000]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l min-free-space -d 'Refuse to start with less free space than this on the store\'s file system, in MiB, and warn once a minute while below it [default: 64]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l log-format -d 'How the server writes its lines on stderr: text, or one JSON object per line ({"time","level","message"}) for a log collector [default: text]' -r -f -a "text\t'`sealpost: MESSAGE`, `sealpost: warning: MESSAGE`'
json\t'`{"time":RFC 3339,"level":"info"|"warning","message":MESSAGE}`'"
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l metrics -d 'Also serve Prometheus metrics (GET /metrics, plain HTTP) on this address, e.g. 127.0.0.1:9464; keep it off the members\' network' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l pin-file -d 'Read the PKCS#11 token PIN from the first line of FILE [otherwise: pin-source= in the URI, SEALPOST_PKCS11_PIN, or the terminal]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l pin-fd -d 'Read the PKCS#11 token PIN from file descriptor N' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from serve" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -l cert -d 'The group certificate (PEM or DER; - for stdin), as `sealpost group cert` prints it' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -l server -d 'A release server, https://HOST[:PORT]; several (URL1,URL2,… or the option repeated) are the group\'s replicas, tried in order: the next when one is unreachable or answers 503 (none: for an exploder whose members come from a file, or a list re-encrypted by its exploder)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -l ca-file -d 'Trust this CA (PEM) for the servers besides the system roots' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -l as -d 'The own identity (address or fingerprint prefix) that is the member [default: the only one]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from join" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -f -a "export" -d 'Wrap the group\'s private key to one member (on the group server)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -f -a "import" -d 'Import a group key exported to you (member side)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from key" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -f -a "fetch" -d 'Fetch a joined group\'s secrets from its server (membership is checked)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -f -a "list" -d 'List the ids of a group\'s secrets this keystore holds'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from secret" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -f -a "fetch" -d 'Fetch this period\'s pass for a joined group (membership is checked)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -f -a "show" -d 'Show the pass held for a joined group, if one is valid now'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from pass" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -l store -d 'The group store: an SQLite file (PATH or sqlite:PATH), or a PostgreSQL database shared by several servers (postgres://USER@HOST/DB). TLS to PostgreSQL as libpq\'s sslmode says: prefer (the default, as in libpq: encrypted if offered, certificate unchecked), disable, require, verify-ca, verify-full (checks the chain and the host name: use it over any network), with sslrootcert=FILE for a private CA, e.g. postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=/etc/ca.pem [default: KEYSTORE/groups.sqlite3]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a group: a key pair and a self-signed group certificate'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "cert" -d 'Print a group\'s certificate (PEM), for senders and members'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a group: its address, members, and key generations'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "rotate-key" -d 'Replace a group\'s key: a new key pair and group certificate'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "add-member" -d 'Add a member: a certificate whose e-mail address is the member\'s'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "remove-member" -d 'Remove a member by address (all their certificates) or fingerprint'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "members" -d 'List a group\'s members'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "audit" -d 'Show a group\'s audit log, or prune old rows from it'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "rotate-secret" -d 'Issue a new group secret, for list mail re-wrapped by the exploder'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Copy a group store from SQLite into an empty PostgreSQL database'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "serve" -d 'Serve key releases over HTTPS (POST /v1/release)'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "join" -d 'Record a group certificate, its release servers and which own identity is the member'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "key" -d 'The group\'s private key, for members who must read list mail offline'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "secret" -d 'Group secrets: read list mail the exploder re-wrapped, offline'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "pass" -d 'Membership passes: read an anonymous list\'s mail without telling its server who reads'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change a group\'s settings: anonymous=on|off, pass-lifetime=DURATION'
complete -c sealpost -n "__fish_sealpost_using_subcommand group; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -s o -l output -d 'Write the message to FILE (atomically; may be the input) instead of stdout' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -l force -d 'Replace FILE of --output if it exists (not needed when it is the input itself)'
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand release" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand revoke" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand revoke" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand revoke" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand revoke" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand revoke" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand revoke" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand revoke" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l group -d 'The group (joined as its exploder)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l members -d 'Member addresses from FILE instead of the group server' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l from -d 'MAIL FROM of the copies [default: the list address]' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l submit -d 'Queue the copies in the outbox and send them through ACCOUNT' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -s o -l output -d 'Write the Batch SMTP stream to FILE instead of stdout' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l timeout -d 'With --submit: seconds to wait for a connection or a reply' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l password-file -d 'Read the account password from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l password-fd -d 'Read the account password from file descriptor N' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l rewrap -d 'Add the message key wrapped under the group\'s current secret'
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l reencrypt -d 'Decrypt with the list\'s own key and encrypt again for each member'
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l pass-through -d 'Forward a message not encrypted to the group unchanged instead of refusing it'
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l force -d 'Replace FILE of --output if it exists'
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sealpost -n "__fish_sealpost_using_subcommand explode" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -l out -d 'Write every page, sealpost.1 and one per subcommand, into DIR instead' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand man" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand completions" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand completions" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand completions" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand completions" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand completions" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand completions" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand completions" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand completions" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand completions" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -l out -d 'Top directory of the source tree' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -l keystore -d 'Keystore directory [default: the platform data directory, e.g. ~/.local/share/sealpost]' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -l json-version -d 'Refuse to run unless this sealpost writes JSON schema VERSION (1, 1.0, 1.1 or 1.2)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -l passphrase-file -d 'Read the keystore passphrase from the first line of FILE' -r -F
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -l passphrase-fd -d 'Read the keystore passphrase from file descriptor N (e.g. 3 with `3<file`)' -r
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -l json -d 'Machine-readable output: one JSON document on stdout (its shape: `man sealpost`, JSON OUTPUT)'
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -s v -l verbose -d 'More detail on stderr'
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c sealpost -n "__fish_sealpost_using_subcommand generate-docs" -s V -l version -d 'Print version'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "key" -d 'Manage your own keys and certificates (identities)'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "cert" -d 'Manage correspondents\' certificates'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "compose" -d 'Compose an RFC 5322 / MIME message and write it to stdout'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "encrypt" -d 'Encrypt a message as S/MIME, keeping Bcc recipients private'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "decrypt" -d 'Decrypt an S/MIME message'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "verify" -d 'Verify a signed message and write its content'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "inspect" -d 'Show what an S/MIME message reveals without decrypting it'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "account" -d 'Manage mail accounts (submission and fetch servers)'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "submit" -d 'Send messages through the account\'s submission server, via the outbox'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "outbox" -d 'Show, retry or remove what waits in the outbox'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "fetch" -d 'Download new mail into a local Maildir, losing and doubling nothing'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "group" -d 'Group keys for encrypted mailing lists, and the key release server'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "release" -d 'Ask the group server for a message\'s key and add an entry for your own key'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "revoke" -d 'Delete a message\'s deposited key at the group server: nobody can read it afterwards'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "explode" -d 'Send a message to a mailing list\'s members, one copy per member'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "man" -d 'Print a man page (roff) on stdout'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "completions" -d 'Print a shell completion script on stdout'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "generate-docs" -d 'Write man pages to DIR/man and completions to DIR/completions'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and not __fish_seen_subcommand_from key cert compose encrypt decrypt verify inspect account submit outbox fetch group release revoke explode man completions generate-docs help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "generate" -d 'Create a key and a self-signed S/MIME certificate'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "import" -d 'Import a key and certificate from PKCS#12 or PEM'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "list" -d 'List your identities'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "export" -d 'Print an identity\'s certificate, or export its private key'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "csr" -d 'Make a certificate request (PKCS#10) for a certificate authority'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "import-cert" -d 'Install a certificate a CA issued for one of your keys'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "import" -d 'Import certificates (PEM, DER, or PKCS#7 bundles of several)'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "list" -d 'List correspondents\' certificates, accepted, validated or learned, and whether each can be used to encrypt'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "accept" -d 'Accept a certificate learned from signed mail, so that encrypt uses it'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "remove" -d 'Remove certificates, accepted, validated or learned, by address or fingerprint'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "prefer" -d 'Say which algorithms a correspondent\'s software reads'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "trust" -d 'Trust certificates as anchors: signers with a certification path to one are trusted'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "untrust" -d 'Stop trusting anchors added with `cert trust`'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from cert" -f -a "crl" -d 'Certificate revocation lists'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "add" -d 'Add (or with --replace, change) an account'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "list" -d 'List the accounts (never their passwords)'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from account" -f -a "remove" -d 'Remove an account (its outbox entries and fetched mail stay)'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "list" -d 'List queued and failed envelopes'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "flush" -d 'Send every queued envelope now, ignoring retry times'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "drop" -d 'Remove a queued or failed envelope without sending it'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "prune" -d 'Remove records of sent envelopes older than a given time'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "create" -d 'Create a group: a key pair and a self-signed group certificate'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "cert" -d 'Print a group\'s certificate (PEM), for senders and members'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "show" -d 'Show a group: its address, members, and key generations'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "rotate-key" -d 'Replace a group\'s key: a new key pair and group certificate'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "add-member" -d 'Add a member: a certificate whose e-mail address is the member\'s'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "remove-member" -d 'Remove a member by address (all their certificates) or fingerprint'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "members" -d 'List a group\'s members'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "audit" -d 'Show a group\'s audit log, or prune old rows from it'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "rotate-secret" -d 'Issue a new group secret, for list mail re-wrapped by the exploder'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "migrate" -d 'Copy a group store from SQLite into an empty PostgreSQL database'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "serve" -d 'Serve key releases over HTTPS (POST /v1/release)'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "join" -d 'Record a group certificate, its release servers and which own identity is the member'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "key" -d 'The group\'s private key, for members who must read list mail offline'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "secret" -d 'Group secrets: read list mail the exploder re-wrapped, offline'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "pass" -d 'Membership passes: read an anonymous list\'s mail without telling its server who reads'
complete -c sealpost -n "__fish_sealpost_using_subcommand help; and __fish_seen_subcommand_from group" -f -a "set" -d 'Change a group\'s settings: anonymous=on|off, pass-lifetime=DURATION'
