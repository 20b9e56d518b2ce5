// A SCRAM-SHA-256 client (RFC 5802 / RFC 7677) on MQTT.js, the real MQTT 5 client that speaks
// AUTH, driven by tests/test_enhanced_auth.py. One JSON object per line on stdout says what
// happened: {"event": "connack", ...}, {"event": "error", "code": N}, {"event": "reauth", ...},
// {"event": "disconnect", "code": N}, {"event": "done"}.
//
//   node scram_client.js '{"port": 1883, "clientId": "c", "user": "alice", "password": "pw",
//                          "reauthPassword": "pw"}'
//
// With reauthPassword the client re-authenticates once connected (AUTH 0x19): MQTT.js has no
// public call for that, so the AUTH goes out through its packet writer (_sendPacket); every
// AUTH the broker sends reaches the client's public handleAuth hook.
'use strict'

const crypto = require('node:crypto')
const mqtt = require('mqtt')

const opts = JSON.parse(process.argv[2])
const METHOD = 'SCRAM-SHA-256'
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest()
const sha = (data) => crypto.createHash('sha256').update(data).digest()

// One exchange: client-first, then client-final from server-first, then the server's signature.
function scram (user, password) {
  const nonce = crypto.randomBytes(18).toString('base64')
  const bare = `n=${user},r=${nonce}`
  let expected = null
  return {
    first: Buffer.from(`n,,${bare}`),
    final (serverFirst) {
      const attrs = Object.fromEntries(serverFirst.split(',').map((p) => [p[0], p.slice(2)]))
      if (!attrs.r.startsWith(nonce)) throw new Error('server nonce does not extend ours')
      const salted = crypto.pbkdf2Sync(password, Buffer.from(attrs.s, 'base64'), Number(attrs.i), 32, 'sha256')
      const clientKey = hmac(salted, 'Client Key')
      const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${attrs.r}`
      const authMessage = `${bare},${serverFirst},${withoutProof}`
      const signature = hmac(sha(clientKey), authMessage)
      const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]))
      expected = 'v=' + hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')
      return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`)
    },
    verified (serverFinal) {
      return serverFinal !== undefined && serverFinal.toString() === expected
    }
  }
}

let exchange = scram(opts.user, opts.password)
let reauthenticating = false
const client = mqtt.connect(`mqtt://127.0.0.1:${opts.port}`, {
  protocolVersion: 5,
  clientId: opts.clientId,
  reconnectPeriod: 0,
  connectTimeout: 10000,
  properties: { authenticationMethod: METHOD, authenticationData: exchange.first }
})

const timer = setTimeout(() => { out({ event: 'timeout' }); process.exit(1) }, 20000)
const finish = () => { out({ event: 'done' }); clearTimeout(timer); client.end(true, () => process.exit(0)) }

client.handleAuth = (packet, callback) => {
  const props = packet.properties || {}
  out({ event: 'auth', reasonCode: packet.reasonCode, method: props.authenticationMethod })
  if (packet.reasonCode === 0x18) {
    let data
    try {
      data = exchange.final(props.authenticationData.toString())
    } catch (e) {
      callback(e)
      return
    }
    callback(null, {
      cmd: 'auth',
      reasonCode: 0x18,
      properties: { authenticationMethod: METHOD, authenticationData: data }
    })
  } else if (packet.reasonCode === 0x00 && reauthenticating) {
    // Re-authentication succeeded: the broker's AUTH 0x00 carries the server signature.
    reauthenticating = false
    out({ event: 'reauth', verified: exchange.verified(props.authenticationData) })
    // Still connected and served under the new authentication.
    client.publish('scram/after', 'x', { qos: 1 }, (err) => {
      out({ event: 'published', error: err ? String(err) : null })
      finish()
    })
  }
}

client.on('connect', (connack) => {
  const props = connack.properties || {}
  out({
    event: 'connack',
    reasonCode: connack.reasonCode,
    method: props.authenticationMethod,
    verified: exchange.verified(props.authenticationData)
  })
  if (opts.reauthPassword === undefined) {
    finish()
    return
  }
  exchange = scram(opts.user, opts.reauthPassword)
  reauthenticating = true
  client._sendPacket({
    cmd: 'auth',
    reasonCode: 0x19,
    properties: { authenticationMethod: METHOD, authenticationData: exchange.first }
  })
})

client.on('error', (err) => {
  out({ event: 'error', code: err.code, message: String(err.message) })
  clearTimeout(timer)
  client.end(true, () => process.exit(0))
})

client.on('disconnect', (packet) => {
  out({ event: 'disconnect', code: packet.reasonCode })
  clearTimeout(timer)
  client.end(true, () => process.exit(0))
})
