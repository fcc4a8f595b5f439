#!/usr/bin/env python3
# npm install cannot lock the platform builds of @napi-rs/blake-hash that the
# registry reachable here does not serve, and `npm ci` then refuses the lockfile.
# This adds them as optional, platform-guarded entries (never fetched on
# linux-x64). Run after every `npm install`: python3 scripts/complete-lockfile.py package-lock.json
import json,sys
p=sys.argv[1]
lock=json.load(open(p))
pk=lock['packages']
parent=pk['node_modules/@napi-rs/blake-hash']
plat={'android-arm64':('android','arm64',None),'darwin-arm64':('darwin','arm64',None),'darwin-x64':('darwin','x64',None),
'freebsd-x64':('freebsd','x64',None),'linux-arm-gnueabihf':('linux','arm',None),'linux-arm64-gnu':('linux','arm64','glibc'),
'linux-arm64-musl':('linux','arm64','musl'),'linux-ppc64-gnu':('linux','ppc64','glibc'),'linux-s390x-gnu':('linux','s390x','glibc'),
'win32-arm64-msvc':('win32','arm64',None),'win32-ia32-msvc':('win32','ia32',None),'win32-x64-msvc':('win32','x64',None),
'linux-x64-gnu':('linux','x64','glibc'),'linux-x64-musl':('linux','x64','musl')}
added=0
for name,ver in parent.get('optionalDependencies',{}).items():
    key='node_modules/'+name
    if key in pk: continue
    suffix=name.split('blake-hash-')[1]
    os_,cpu,libc=plat[suffix]
    e={'version':ver,'cpu':[cpu],'license':'MIT','optional':True,'os':[os_]}
    if libc: e['libc']=[libc]
    e['engines']={'node':'>= 10'}
    pk[key]=e; added+=1
lock['packages']=dict(sorted(pk.items(), key=lambda kv: (kv[0]!='', kv[0])))
json.dump(lock,open(p,'w'),indent=2); open(p,'a').write('\n')
print('added',added)
